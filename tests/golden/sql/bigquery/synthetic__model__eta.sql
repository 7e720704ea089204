WITH `__aligned_spine` AS (
  SELECT
    `__aligned_spine_source`.*,
    ROW_NUMBER() OVER (ORDER BY TO_JSON_STRING(`__aligned_spine_source`)) AS `__aligned_row`,
    CAST(`__aligned_spine_source`.`requested_at` AS TIMESTAMP) AS `__aligned_time`
  FROM (
    SELECT
      *
    FROM (
      SELECT
        driver_id,
        city,
        requested_at
      FROM requests
    ) AS `source`
  ) AS `__aligned_spine_source`
)
SELECT
  `s`.*
  EXCEPT (`__aligned_row`, `__aligned_time`),
  COALESCE(
    CASE
      WHEN `__aligned_v0`.`__aligned_rec`.`__aligned_event` >= `s`.`__aligned_time` - INTERVAL '86400' SECOND
      THEN `__aligned_v0`.`__aligned_rec`.`fare`
    END,
    0
  ) AS `fare`,
  CASE
    WHEN `__aligned_v0`.`__aligned_rec`.`__aligned_event` >= `s`.`__aligned_time` - INTERVAL '86400' SECOND
    THEN `__aligned_v0`.`__aligned_rec`.`rating`
  END AS `trips__rating`,
  `__aligned_v1`.`rating` AS `drivers__rating`,
  CASE
    WHEN `__aligned_v0`.`__aligned_rec`.`__aligned_event` >= `s`.`__aligned_time` - INTERVAL '86400' SECOND
    THEN `__aligned_v0`.`__aligned_rec`.`fare_per_star`
  END AS `fare_per_star`,
  `__aligned_v1`.`joined` AS `label`
FROM `__aligned_spine` AS `s`
LEFT JOIN (
  SELECT
    `__aligned_row`,
    `__aligned_rec`
  FROM (
    SELECT
      `__aligned_row`,
      `__aligned_is_spine`,
      LAST_VALUE(`__aligned_rec` IGNORE NULLS) OVER (
        PARTITION BY `driver_id`, `city`
        ORDER BY `__aligned_t` NULLS LAST, `__aligned_is_spine` NULLS LAST, `__aligned_c`
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
      ) AS `__aligned_rec`
    FROM (
      SELECT
        `driver_id`,
        `city`,
        `event_at` AS `__aligned_t`,
        0 AS `__aligned_is_spine`,
        `loaded_at` AS `__aligned_c`,
        NULL AS `__aligned_row`,
        STRUCT(
          `event_at` AS `__aligned_event`,
          `fare` AS `fare`,
          `rating` AS `rating`,
          `fare_per_star` AS `fare_per_star`
        ) AS `__aligned_rec`
      FROM (
        SELECT
          `row`.`driver_id`,
          `row`.`city`,
          `row`.`event_at`,
          `row`.`loaded_at`,
          `row`.`fare`,
          `row`.`rating`,
          CAST(`row`.`fare` / NULLIF(`row`.`rating`, 0) AS FLOAT64) AS `fare_per_star`
        FROM (
          SELECT
            `source`.`driver_id` AS `driver_id`,
            `source`.`city` AS `city`,
            TIMESTAMP(CAST(`source`.`event_at` AS DATETIME), 'Europe/Oslo') AS `event_at`,
            TIMESTAMP(CAST(`source`.`loaded_at` AS DATETIME), 'Europe/Oslo') AS `loaded_at`,
            CAST(`source`.`fare` AS FLOAT64) AS `fare`,
            CAST(`source`.`rating` AS FLOAT64) AS `rating`
          FROM (
            SELECT
              *
            FROM `aligned_sources`.`trip_events`
          ) AS `source`
        ) AS `row`
      ) AS `v`
      WHERE
        NOT `driver_id` IS NULL AND NOT `city` IS NULL AND NOT `event_at` IS NULL
      UNION ALL
      SELECT
        `driver_id`,
        `city`,
        `__aligned_time` AS `__aligned_t`,
        1 AS `__aligned_is_spine`,
        NULL AS `__aligned_c`,
        `__aligned_row` AS `__aligned_row`,
        NULL AS `__aligned_rec`
      FROM `__aligned_spine`
      WHERE
        NOT `driver_id` IS NULL AND NOT `city` IS NULL AND NOT `__aligned_time` IS NULL
    ) AS `u`
  ) AS `w`
  WHERE
    `__aligned_is_spine` = 1
) AS `__aligned_v0`
  ON `__aligned_v0`.`__aligned_row` = `s`.`__aligned_row`
LEFT JOIN (
  SELECT
    `driver_id`,
    `rating`,
    `joined`
  FROM (
    SELECT
      `driver_id`,
      `rating`,
      `joined`,
      ROW_NUMBER() OVER (PARTITION BY `driver_id`) AS `__aligned_duplicate`
    FROM (
      SELECT
        `row`.`driver_id`,
        `row`.`rating`,
        `row`.`joined`
      FROM (
        SELECT
          `source`.`driver_id` AS `driver_id`,
          CAST(`source`.`rating` AS INT64) AS `rating`,
          CAST(`source`.`joined` AS DATE) AS `joined`
        FROM (
          SELECT
            *,
            `id` AS `driver_id`,
            `stars` AS `rating`
          FROM `public`.`drivers`
        ) AS `source`
      ) AS `row`
    ) AS `v`
  ) AS `n`
  WHERE
    `__aligned_duplicate` = 1
) AS `__aligned_v1`
  ON `s`.`driver_id` = `__aligned_v1`.`driver_id`
ORDER BY
  `s`.`__aligned_row`
