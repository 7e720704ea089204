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
  ) AS `d`
  WHERE
    `__aligned_version` = 1
), `__aligned_v0_agg_running_stream` AS (
  SELECT
    `driver_id`,
    `city`,
    `__aligned_event`,
    0 AS `__aligned_kind`,
    CAST(NULL AS INT64) AS `__aligned_row`,
    1 AS `__aligned_one`,
    `__aligned_of0` AS `__aligned_of0_n`,
    CASE
      WHEN `__aligned_of0` IN (
        CAST('NaN' AS FLOAT64),
        CAST('Infinity' AS FLOAT64),
        CAST('-Infinity' AS FLOAT64)
      )
      THEN NULL
      ELSE `__aligned_of0`
    END AS `__aligned_of0_s`,
    CASE
      WHEN `__aligned_of0` IN (CAST('Infinity' AS FLOAT64), CAST('NaN' AS FLOAT64))
      THEN 1
    END AS `__aligned_of0_up`,
    CASE
      WHEN `__aligned_of0` IN (CAST('-Infinity' AS FLOAT64), CAST('NaN' AS FLOAT64))
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
    `__aligned_time` - INTERVAL '604800' SECOND AS `__aligned_event`,
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
    `__aligned_time` - INTERVAL '2592000' SECOND AS `__aligned_event`,
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
    `__aligned_time` - INTERVAL '7776000' SECOND AS `__aligned_event`,
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
SELECT
  `s`.*
  EXCEPT (`__aligned_row`, `__aligned_time`),
  `__aligned_v0`.`__aligned_rec`.`fare` AS `fare`,
  CAST((
    COALESCE(`__aligned_v0_agg_running`.`__aligned_one_0`, 0) - COALESCE(`__aligned_v0_agg_running`.`__aligned_one_1`, 0)
  ) AS INT64) AS `trips_7d`,
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
      THEN CAST('NaN' AS FLOAT64)
      WHEN (
        COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_up_0`, 0) - COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_up_2`, 0)
      ) > 0
      THEN CAST('Infinity' AS FLOAT64)
      WHEN (
        COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_down_0`, 0) - COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_down_2`, 0)
      ) > 0
      THEN CAST('-Infinity' AS FLOAT64)
      ELSE (
        COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_s_0`, 0) - COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_s_2`, 0)
      )
    END AS FLOAT64) / (
      COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_n_0`, 0) - COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_n_2`, 0)
    ) AS FLOAT64)
  END AS `fare_mean_30d`,
  CASE
    WHEN `__aligned_v0_agg_range`.`__aligned_n0` >= 2
    THEN CAST(`__aligned_v0_agg_range`.`__aligned_a0` AS FLOAT64)
  END AS `fare_max_7d`,
  CASE
    WHEN `__aligned_v0_agg_range`.`__aligned_n1` >= 1
    THEN CAST(`__aligned_v0_agg_range`.`__aligned_a1` AS FLOAT64)
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
      THEN CAST('NaN' AS FLOAT64)
      WHEN (
        COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_up_0`, 0) - COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_up_3`, 0)
      ) > 0
      THEN CAST('Infinity' AS FLOAT64)
      WHEN (
        COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_down_0`, 0) - COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_down_3`, 0)
      ) > 0
      THEN CAST('-Infinity' AS FLOAT64)
      ELSE (
        COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_s_0`, 0) - COALESCE(`__aligned_v0_agg_running`.`__aligned_of0_s_3`, 0)
      )
    END AS FLOAT64)
  END AS `fare_sum_90d`
FROM `__aligned_spine` AS `s`
LEFT JOIN (
  SELECT
    `__aligned_row`,
    MAX(IF(`__aligned_kind` = 1, `__aligned_one`, NULL)) AS `__aligned_one_0`,
    MAX(IF(`__aligned_kind` = 1, `__aligned_of0_n`, NULL)) AS `__aligned_of0_n_0`,
    MAX(IF(`__aligned_kind` = 1, `__aligned_of0_s`, NULL)) AS `__aligned_of0_s_0`,
    MAX(IF(`__aligned_kind` = 1, `__aligned_of0_up`, NULL)) AS `__aligned_of0_up_0`,
    MAX(IF(`__aligned_kind` = 1, `__aligned_of0_down`, NULL)) AS `__aligned_of0_down_0`,
    MAX(IF(`__aligned_kind` = 2, `__aligned_one`, NULL)) AS `__aligned_one_1`,
    MAX(IF(`__aligned_kind` = 3, `__aligned_of0_n`, NULL)) AS `__aligned_of0_n_2`,
    MAX(IF(`__aligned_kind` = 3, `__aligned_of0_s`, NULL)) AS `__aligned_of0_s_2`,
    MAX(IF(`__aligned_kind` = 3, `__aligned_of0_up`, NULL)) AS `__aligned_of0_up_2`,
    MAX(IF(`__aligned_kind` = 3, `__aligned_of0_down`, NULL)) AS `__aligned_of0_down_2`,
    MAX(IF(`__aligned_kind` = 4, `__aligned_of0_n`, NULL)) AS `__aligned_of0_n_3`,
    MAX(IF(`__aligned_kind` = 4, `__aligned_of0_s`, NULL)) AS `__aligned_of0_s_3`,
    MAX(IF(`__aligned_kind` = 4, `__aligned_of0_up`, NULL)) AS `__aligned_of0_up_3`,
    MAX(IF(`__aligned_kind` = 4, `__aligned_of0_down`, NULL)) AS `__aligned_of0_down_3`
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
    MAX(
      IF(
        `e`.`__aligned_event` > `s`.`__aligned_time` - INTERVAL '604800' SECOND,
        `e`.`__aligned_of0`,
        NULL
      )
    ) AS `__aligned_a0`,
    COUNT(
      IF(
        `e`.`__aligned_event` > `s`.`__aligned_time` - INTERVAL '604800' SECOND,
        `e`.`__aligned_of0`,
        NULL
      )
    ) AS `__aligned_n0`,
    CASE
      WHEN MAX(IF(NOT `e`.`__aligned_of1` IS NULL, `e`.`__aligned_event`, NULL)) = MAX(`e`.`__aligned_event`)
      THEN (
        ARRAY_AGG(
          IF(NOT `e`.`__aligned_of1` IS NULL, `e`.`__aligned_of1`, NULL) IGNORE NULLS ORDER BY `e`.`__aligned_event` DESC
        )
      )[0]
    END AS `__aligned_a1`,
    COUNT(`e`.`__aligned_of1`) AS `__aligned_n1`
  FROM `__aligned_spine` AS `s`
  JOIN `__aligned_v0_agg_events` AS `e`
    ON `s`.`driver_id` = `e`.`driver_id`
    AND `s`.`city` = `e`.`city`
    AND `e`.`__aligned_event` > `s`.`__aligned_time` - INTERVAL '2592000' SECOND
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
        STRUCT(`event_at` AS `__aligned_event`, `fare` AS `fare`) AS `__aligned_rec`
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
ORDER BY
  `s`.`__aligned_row`
