WITH `__aligned_spine` AS (
  SELECT
    `__aligned_spine_source`.*,
    STRUCT(`__aligned_spine_source`.*) AS `__aligned_spine_record`,
    MONOTONICALLY_INCREASING_ID() AS `__aligned_row`,
    CAST(CAST(`__aligned_spine_source`.`requested_at` AS TIMESTAMP) AS TIMESTAMP_NTZ) AS `__aligned_time`
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
SELECT /*+ REPARTITION */
  `s`.`__aligned_spine_record`.*,
  COALESCE(
    CASE
      WHEN `s`.`__aligned_rec0`.`__aligned_event` >= `s`.`__aligned_time` - MAKE_DT_INTERVAL(0, 0, 0, 86400)
      THEN `s`.`__aligned_rec0`.`fare`
    END,
    0
  ) AS `fare`,
  CASE
    WHEN `s`.`__aligned_rec0`.`__aligned_event` >= `s`.`__aligned_time` - MAKE_DT_INTERVAL(0, 0, 0, 86400)
    THEN `s`.`__aligned_rec0`.`rating`
  END AS `trips__rating`,
  `__aligned_v1`.`rating` AS `drivers__rating`,
  CASE
    WHEN `s`.`__aligned_rec0`.`__aligned_event` >= `s`.`__aligned_time` - MAKE_DT_INTERVAL(0, 0, 0, 86400)
    THEN `s`.`__aligned_rec0`.`fare_per_star`
  END AS `fare_per_star`,
  `__aligned_v1`.`joined` AS `label`
FROM (
  SELECT
    `__aligned_spine_row`.*,
    `__aligned_rec0`
  FROM (
    SELECT
      `__aligned_spine_row`,
      LAST_VALUE(`__aligned_rec0`) IGNORE NULLS OVER (
        PARTITION BY XXHASH64(`driver_id`, `city`), `driver_id`, `city`
        ORDER BY `__aligned_t`, NOT `__aligned_spine_row` IS NULL, `__aligned_c`
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
      ) AS `__aligned_rec0`
    FROM (
      SELECT
        *
      FROM (
        SELECT
          `driver_id`,
          `city`,
          `__aligned_pit_event` AS `__aligned_t`,
          `__aligned_pit_created` AS `__aligned_c`,
          NULL AS `__aligned_spine_row`,
          STRUCT(
            `__aligned_pit_event` AS `__aligned_event`,
            `fare` AS `fare`,
            `rating` AS `rating`,
            `fare_per_star` AS `fare_per_star`
          ) AS `__aligned_rec0`
        FROM (
          SELECT
            `row`.`driver_id`,
            `row`.`city`,
            `row`.`event_at`,
            `row`.`loaded_at`,
            `row`.`fare`,
            `row`.`rating`,
            CAST(`row`.`fare` / NULLIF(`row`.`rating`, 0) AS DOUBLE) AS `fare_per_star`,
            `row`.`__aligned_pit_event`,
            `row`.`__aligned_pit_created`
          FROM (
            SELECT
              `source`.`driver_id` AS `driver_id`,
              `source`.`city` AS `city`,
              CASE
                WHEN TYPEOF(`source`.`event_at`) = 'timestamp'
                THEN CAST(`source`.`event_at` AS TIMESTAMP)
                ELSE TO_UTC_TIMESTAMP(CAST(`source`.`event_at` AS TIMESTAMP), 'Europe/Oslo')
              END AS `event_at`,
              CASE
                WHEN TYPEOF(`source`.`loaded_at`) = 'timestamp'
                THEN CAST(`source`.`loaded_at` AS TIMESTAMP)
                ELSE TO_UTC_TIMESTAMP(CAST(`source`.`loaded_at` AS TIMESTAMP), 'Europe/Oslo')
              END AS `loaded_at`,
              CAST(`source`.`fare` AS DOUBLE) AS `fare`,
              CAST(`source`.`rating` AS FLOAT) AS `rating`,
              CAST(CASE
                WHEN TYPEOF(`source`.`event_at`) = 'timestamp'
                THEN CAST(`source`.`event_at` AS TIMESTAMP)
                ELSE TO_UTC_TIMESTAMP(CAST(`source`.`event_at` AS TIMESTAMP), 'Europe/Oslo')
              END AS TIMESTAMP_NTZ) AS `__aligned_pit_event`,
              CAST(CASE
                WHEN TYPEOF(`source`.`loaded_at`) = 'timestamp'
                THEN CAST(`source`.`loaded_at` AS TIMESTAMP)
                ELSE TO_UTC_TIMESTAMP(CAST(`source`.`loaded_at` AS TIMESTAMP), 'Europe/Oslo')
              END AS TIMESTAMP_NTZ) AS `__aligned_pit_created`
            FROM (
              SELECT
                *
              FROM `aligned_source__trip_events`
            ) AS `source`
          ) AS `row`
        ) AS `v`
        WHERE
          NOT `driver_id` IS NULL
          AND NOT `city` IS NULL
          AND NOT `__aligned_pit_event` IS NULL
        UNION ALL
        SELECT
          `driver_id`,
          `city`,
          `__aligned_time` AS `__aligned_t`,
          NULL AS `__aligned_c`,
          STRUCT(`__aligned_spine`.*) AS `__aligned_spine_row`,
          NULL AS `__aligned_rec0`
        FROM `__aligned_spine`
      ) AS `c`
      DISTRIBUTE BY
        `driver_id`,
        `city`
      SORT BY
        XXHASH64(`driver_id`, `city`)
    ) AS `u`
  ) AS `w`
  WHERE
    NOT `__aligned_spine_row` IS NULL
) AS `s`
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
      ROW_NUMBER() OVER (PARTITION BY `driver_id` ORDER BY MONOTONICALLY_INCREASING_ID() NULLS LAST) AS `__aligned_duplicate`
    FROM (
      SELECT
        `row`.`driver_id`,
        `row`.`rating`,
        `row`.`joined`
      FROM (
        SELECT
          `source`.`driver_id` AS `driver_id`,
          CAST(`source`.`rating` AS SMALLINT) AS `rating`,
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
