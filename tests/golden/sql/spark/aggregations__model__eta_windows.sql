WITH `__aligned_spine` AS MATERIALIZED (
  SELECT
    `__aligned_spine_source`.*,
    STRUCT(`__aligned_spine_source`.*) AS `__aligned_spine_record`,
    MONOTONICALLY_INCREASING_ID() AS `__aligned_row`,
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
), `__aligned_v0_agg_events` AS (
  SELECT
    `driver_id`,
    `city`,
    `__aligned_event`,
    `__aligned_of0`,
    `__aligned_of1`
  FROM (
    SELECT
      `driver_id`,
      `city`,
      `event_at` AS `__aligned_event`,
      `fare` AS `__aligned_of0`,
      `rating` AS `__aligned_of1`,
      ROW_NUMBER() OVER (PARTITION BY `driver_id`, `city`, `event_at` ORDER BY `loaded_at` DESC) AS `__aligned_version`
    FROM (
      SELECT
        `row`.`driver_id`,
        `row`.`city`,
        `row`.`event_at`,
        `row`.`loaded_at`,
        `row`.`fare`,
        `row`.`rating`,
        CAST(`row`.`fare` / NULLIF(`row`.`rating`, 0) AS DOUBLE) AS `fare_per_star`
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
          CAST(`source`.`rating` AS FLOAT) AS `rating`
        FROM (
          SELECT
            *
          FROM `aligned_source__trip_events`
        ) AS `source`
      ) AS `row`
    ) AS `v`
    WHERE
      NOT `driver_id` IS NULL AND NOT `city` IS NULL AND NOT `event_at` IS NULL
  ) AS `d`
  WHERE
    `__aligned_version` = 1
)
SELECT
  `s`.`__aligned_spine_record`.*,
  `__aligned_v0`.`__aligned_rec`.`fare` AS `fare`,
  COALESCE(CAST(`__aligned_v0_agg_range`.`__aligned_a0` AS BIGINT), 0) AS `trips_7d`,
  CASE
    WHEN `__aligned_v0_agg_range`.`__aligned_n1` >= 1
    THEN CAST(`__aligned_v0_agg_range`.`__aligned_a1` AS DOUBLE)
  END AS `fare_mean_30d`,
  CASE
    WHEN `__aligned_v0_agg_range`.`__aligned_n2` >= 2
    THEN CAST(`__aligned_v0_agg_range`.`__aligned_a2` AS DOUBLE)
  END AS `fare_max_7d`,
  CASE
    WHEN `__aligned_v0_agg_range`.`__aligned_n3` >= 1
    THEN CAST(`__aligned_v0_agg_range`.`__aligned_a3` AS FLOAT)
  END AS `last_rating`
FROM `__aligned_spine` AS `s`
LEFT JOIN (
  SELECT
    `s`.`__aligned_row`,
    COUNT(*) FILTER(WHERE
      `e`.`__aligned_event` > `s`.`__aligned_time` - MAKE_DT_INTERVAL(0, 0, 0, 604800)) AS `__aligned_a0`,
    AVG(CAST(`e`.`__aligned_of0` AS DOUBLE)) AS `__aligned_a1`,
    COUNT(`e`.`__aligned_of0`) AS `__aligned_n1`,
    MAX(`e`.`__aligned_of0`) FILTER(WHERE
      `e`.`__aligned_event` > `s`.`__aligned_time` - MAKE_DT_INTERVAL(0, 0, 0, 604800)) AS `__aligned_a2`,
    COUNT(`e`.`__aligned_of0`) FILTER(WHERE
      `e`.`__aligned_event` > `s`.`__aligned_time` - MAKE_DT_INTERVAL(0, 0, 0, 604800)) AS `__aligned_n2`,
    MAX_BY(`e`.`__aligned_of1`, `e`.`__aligned_event`) FILTER(WHERE
      NOT `e`.`__aligned_of1` IS NULL) AS `__aligned_a3`,
    COUNT(`e`.`__aligned_of1`) AS `__aligned_n3`
  FROM `__aligned_spine` AS `s`
  JOIN `__aligned_v0_agg_events` AS `e`
    ON `s`.`driver_id` = `e`.`driver_id`
    AND `s`.`city` = `e`.`city`
    AND `e`.`__aligned_event` > `s`.`__aligned_time` - MAKE_DT_INTERVAL(0, 0, 0, 2592000)
    AND `e`.`__aligned_event` <= `s`.`__aligned_time`
  GROUP BY
    `s`.`__aligned_row`
) AS `__aligned_v0_agg_range`
  ON `s`.`__aligned_row` = `__aligned_v0_agg_range`.`__aligned_row`
LEFT JOIN (
  SELECT
    `__aligned_row`,
    `__aligned_rec`
  FROM (
    SELECT
      `__aligned_row`,
      `__aligned_is_spine`,
      LAST_VALUE(`__aligned_rec`) IGNORE NULLS OVER (
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
        STRUCT(`event_at` AS `__aligned_event`, `fare` AS `fare`) AS `__aligned_rec`
      FROM (
        SELECT
          `row`.`driver_id`,
          `row`.`city`,
          `row`.`event_at`,
          `row`.`loaded_at`,
          `row`.`fare`,
          `row`.`rating`,
          CAST(`row`.`fare` / NULLIF(`row`.`rating`, 0) AS DOUBLE) AS `fare_per_star`
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
            CAST(`source`.`rating` AS FLOAT) AS `rating`
          FROM (
            SELECT
              *
            FROM `aligned_source__trip_events`
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
ORDER BY
  `s`.`__aligned_row`
