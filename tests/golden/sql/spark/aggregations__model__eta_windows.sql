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
      `__aligned_pit_event` AS `__aligned_event`,
      `fare` AS `__aligned_of0`,
      `rating` AS `__aligned_of1`,
      ROW_NUMBER() OVER (
        PARTITION BY `driver_id`, `city`, `__aligned_pit_event`
        ORDER BY `__aligned_pit_created` DESC
      ) AS `__aligned_version`
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
  ) AS `d`
  WHERE
    `__aligned_version` = 1
), `__aligned_v0_agg_running_stream` AS (
  SELECT
    `driver_id`,
    `city`,
    `__aligned_event`,
    0 AS `__aligned_kind`,
    CAST(NULL AS BIGINT) AS `__aligned_row`,
    1 AS `__aligned_one`,
    `__aligned_of0` AS `__aligned_of0_n`,
    CASE
      WHEN `__aligned_of0` IN (CAST('NaN' AS DOUBLE), CAST('Infinity' AS DOUBLE), CAST('-Infinity' AS DOUBLE))
      THEN NULL
      ELSE `__aligned_of0`
    END AS `__aligned_of0_s`,
    CASE
      WHEN `__aligned_of0` IN (CAST('Infinity' AS DOUBLE), CAST('NaN' AS DOUBLE))
      THEN 1
    END AS `__aligned_of0_up`,
    CASE
      WHEN `__aligned_of0` IN (CAST('-Infinity' AS DOUBLE), CAST('NaN' AS DOUBLE))
      THEN 1
    END AS `__aligned_of0_down`
  FROM `__aligned_v0_agg_events`
  UNION ALL
  SELECT
    `driver_id`,
    `city`,
    `__aligned_time` AS `__aligned_event`,
    1 AS `__aligned_kind`,
    `__aligned_row`,
    NULL AS `__aligned_one`,
    NULL AS `__aligned_of0_n`,
    NULL AS `__aligned_of0_s`,
    NULL AS `__aligned_of0_up`,
    NULL AS `__aligned_of0_down`
  FROM `__aligned_spine`
  WHERE
    NOT `driver_id` IS NULL AND NOT `city` IS NULL AND NOT `__aligned_time` IS NULL
  UNION ALL
  SELECT
    `driver_id`,
    `city`,
    `__aligned_time` - MAKE_DT_INTERVAL(0, 0, 0, 604800) AS `__aligned_event`,
    2 AS `__aligned_kind`,
    `__aligned_row`,
    NULL AS `__aligned_one`,
    NULL AS `__aligned_of0_n`,
    NULL AS `__aligned_of0_s`,
    NULL AS `__aligned_of0_up`,
    NULL AS `__aligned_of0_down`
  FROM `__aligned_spine`
  WHERE
    NOT `driver_id` IS NULL AND NOT `city` IS NULL AND NOT `__aligned_time` IS NULL
  UNION ALL
  SELECT
    `driver_id`,
    `city`,
    `__aligned_time` - MAKE_DT_INTERVAL(0, 0, 0, 2592000) AS `__aligned_event`,
    3 AS `__aligned_kind`,
    `__aligned_row`,
    NULL AS `__aligned_one`,
    NULL AS `__aligned_of0_n`,
    NULL AS `__aligned_of0_s`,
    NULL AS `__aligned_of0_up`,
    NULL AS `__aligned_of0_down`
  FROM `__aligned_spine`
  WHERE
    NOT `driver_id` IS NULL AND NOT `city` IS NULL AND NOT `__aligned_time` IS NULL
  UNION ALL
  SELECT
    `driver_id`,
    `city`,
    `__aligned_time` - MAKE_DT_INTERVAL(0, 0, 0, 7776000) AS `__aligned_event`,
    4 AS `__aligned_kind`,
    `__aligned_row`,
    NULL AS `__aligned_one`,
    NULL AS `__aligned_of0_n`,
    NULL AS `__aligned_of0_s`,
    NULL AS `__aligned_of0_up`,
    NULL AS `__aligned_of0_down`
  FROM `__aligned_spine`
  WHERE
    NOT `driver_id` IS NULL AND NOT `city` IS NULL AND NOT `__aligned_time` IS NULL
)
SELECT /*+ REPARTITION */
  `s`.`__aligned_spine_record`.*,
  `s`.`__aligned_rec0`.`fare` AS `fare`,
  CAST((
    COALESCE(`__aligned_v0_agg_running`.`__aligned_one_0`, 0) - COALESCE(`__aligned_v0_agg_running`.`__aligned_one_1`, 0)
  ) AS BIGINT) AS `trips_7d`,
  CASE
    WHEN (
      COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_n_0`, 0) - COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_n_2`, 0)
    ) >= 1
    THEN CAST(CAST(CASE
      WHEN (
        COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_up_0`, 0) - COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_up_2`, 0)
      ) > 0
      AND (
        COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_down_0`, 0) - COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_down_2`, 0)
      ) > 0
      THEN CAST('NaN' AS DOUBLE)
      WHEN (
        COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_up_0`, 0) - COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_up_2`, 0)
      ) > 0
      THEN CAST('Infinity' AS DOUBLE)
      WHEN (
        COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_down_0`, 0) - COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_down_2`, 0)
      ) > 0
      THEN CAST('-Infinity' AS DOUBLE)
      ELSE (
        COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_s_0`, 0) - COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_s_2`, 0)
      )
    END AS DOUBLE) / (
      COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_n_0`, 0) - COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_n_2`, 0)
    ) AS DOUBLE)
  END AS `fare_mean_30d`,
  CASE
    WHEN `__aligned_v0_agg_range`.`__aligned_n0` >= 2
    THEN CAST(`__aligned_v0_agg_range`.`__aligned_a0` AS DOUBLE)
  END AS `fare_max_7d`,
  CASE
    WHEN `__aligned_v0_agg_range`.`__aligned_n1` >= 1
    THEN CAST(`__aligned_v0_agg_range`.`__aligned_a1` AS FLOAT)
  END AS `last_rating`,
  CASE
    WHEN (
      COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_n_0`, 0) - COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_n_3`, 0)
    ) >= 1
    THEN CAST(CASE
      WHEN (
        COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_up_0`, 0) - COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_up_3`, 0)
      ) > 0
      AND (
        COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_down_0`, 0) - COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_down_3`, 0)
      ) > 0
      THEN CAST('NaN' AS DOUBLE)
      WHEN (
        COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_up_0`, 0) - COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_up_3`, 0)
      ) > 0
      THEN CAST('Infinity' AS DOUBLE)
      WHEN (
        COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_down_0`, 0) - COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_down_3`, 0)
      ) > 0
      THEN CAST('-Infinity' AS DOUBLE)
      ELSE (
        COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_s_0`, 0) - COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_s_3`, 0)
      )
    END AS DOUBLE)
  END AS `fare_sum_90d`
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
          STRUCT(`__aligned_pit_event` AS `__aligned_event`, `fare` AS `fare`) AS `__aligned_rec0`
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
    `__aligned_row`,
    MAX(`__aligned_one`) FILTER(WHERE
      `__aligned_kind` = 1) AS `__aligned_one_0`,
    MAX(`__aligned_of0_n`) FILTER(WHERE
      `__aligned_kind` = 1) AS `__aligned_of0_n_0`,
    MAX(`__aligned_of0_s`) FILTER(WHERE
      `__aligned_kind` = 1) AS `__aligned_of0_s_0`,
    MAX(`__aligned_of0_up`) FILTER(WHERE
      `__aligned_kind` = 1) AS `__aligned_of0_up_0`,
    MAX(`__aligned_of0_down`) FILTER(WHERE
      `__aligned_kind` = 1) AS `__aligned_of0_down_0`,
    MAX(`__aligned_one`) FILTER(WHERE
      `__aligned_kind` = 2) AS `__aligned_one_1`,
    MAX(`__aligned_of0_n`) FILTER(WHERE
      `__aligned_kind` = 3) AS `__aligned_of0_n_2`,
    MAX(`__aligned_of0_s`) FILTER(WHERE
      `__aligned_kind` = 3) AS `__aligned_of0_s_2`,
    MAX(`__aligned_of0_up`) FILTER(WHERE
      `__aligned_kind` = 3) AS `__aligned_of0_up_2`,
    MAX(`__aligned_of0_down`) FILTER(WHERE
      `__aligned_kind` = 3) AS `__aligned_of0_down_2`,
    MAX(`__aligned_of0_n`) FILTER(WHERE
      `__aligned_kind` = 4) AS `__aligned_of0_n_3`,
    MAX(`__aligned_of0_s`) FILTER(WHERE
      `__aligned_kind` = 4) AS `__aligned_of0_s_3`,
    MAX(`__aligned_of0_up`) FILTER(WHERE
      `__aligned_kind` = 4) AS `__aligned_of0_up_3`,
    MAX(`__aligned_of0_down`) FILTER(WHERE
      `__aligned_kind` = 4) AS `__aligned_of0_down_3`
  FROM (
    SELECT
      `__aligned_kind`,
      `__aligned_row`,
      COUNT(`__aligned_one`) OVER (
        PARTITION BY `driver_id`, `city`
        ORDER BY `__aligned_event`, `__aligned_kind`
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
      ) AS `__aligned_one`,
      COUNT(`__aligned_of0_n`) OVER (
        PARTITION BY `driver_id`, `city`
        ORDER BY `__aligned_event`, `__aligned_kind`
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
      ) AS `__aligned_of0_n`,
      SUM(`__aligned_of0_s`) OVER (
        PARTITION BY `driver_id`, `city`
        ORDER BY `__aligned_event`, `__aligned_kind`
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
      ) AS `__aligned_of0_s`,
      COUNT(`__aligned_of0_up`) OVER (
        PARTITION BY `driver_id`, `city`
        ORDER BY `__aligned_event`, `__aligned_kind`
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
      ) AS `__aligned_of0_up`,
      COUNT(`__aligned_of0_down`) OVER (
        PARTITION BY `driver_id`, `city`
        ORDER BY `__aligned_event`, `__aligned_kind`
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
      ) AS `__aligned_of0_down`
    FROM `__aligned_v0_agg_running_stream`
  ) AS `r`
  WHERE
    `__aligned_kind` > 0
  GROUP BY
    `__aligned_row`
) AS `__aligned_v0_agg_running`
  ON `s`.`__aligned_row` = `__aligned_v0_agg_running`.`__aligned_row`
LEFT JOIN (
  SELECT
    `s`.`__aligned_row`,
    MAX(`e`.`__aligned_of0`) FILTER(WHERE
      `e`.`__aligned_event` > `s`.`__aligned_time` - MAKE_DT_INTERVAL(0, 0, 0, 604800)) AS `__aligned_a0`,
    COUNT(`e`.`__aligned_of0`) FILTER(WHERE
      `e`.`__aligned_event` > `s`.`__aligned_time` - MAKE_DT_INTERVAL(0, 0, 0, 604800)) AS `__aligned_n0`,
    CASE
      WHEN MAX(`e`.`__aligned_event`) FILTER(WHERE
        NOT `e`.`__aligned_of1` IS NULL) = MAX(`e`.`__aligned_event`)
      THEN MAX_BY(`e`.`__aligned_of1`, `e`.`__aligned_event`) FILTER(WHERE
        NOT `e`.`__aligned_of1` IS NULL)
    END AS `__aligned_a1`,
    COUNT(`e`.`__aligned_of1`) AS `__aligned_n1`
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
ORDER BY
  `s`.`__aligned_row`
