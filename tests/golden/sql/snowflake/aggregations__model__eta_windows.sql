WITH "__aligned_spine" AS MATERIALIZED (
  SELECT
    "__aligned_spine_source".*,
    ROW_NUMBER() OVER () AS "__aligned_row",
    CAST("__aligned_spine_source"."requested_at" AS TIMESTAMPNTZ) AS "__aligned_time"
  FROM (
    SELECT
      *
    FROM (
      SELECT
        driver_id,
        city,
        requested_at
      FROM requests
    ) AS "source"
  ) AS "__aligned_spine_source"
), "__aligned_v0_agg_events" AS (
  SELECT
    "driver_id",
    "city",
    "__aligned_event",
    "__aligned_of0",
    "__aligned_of1"
  FROM (
    SELECT
      "driver_id",
      "city",
      "event_at" AS "__aligned_event",
      "fare" AS "__aligned_of0",
      "rating" AS "__aligned_of1",
      ROW_NUMBER() OVER (PARTITION BY "driver_id", "city", "event_at" ORDER BY "loaded_at" DESC NULLS LAST) AS "__aligned_version"
    FROM (
      SELECT
        "row"."driver_id",
        "row"."city",
        "row"."event_at",
        "row"."loaded_at",
        "row"."fare",
        "row"."rating",
        CAST("row"."fare" / NULLIF("row"."rating", 0) AS DOUBLE) AS "fare_per_star"
      FROM (
        SELECT
          "source"."driver_id" AS "driver_id",
          "source"."city" AS "city",
          CONVERT_TIMEZONE('Europe/Oslo', 'UTC', CAST("source"."event_at" AS TIMESTAMPNTZ)) AS "event_at",
          CONVERT_TIMEZONE('Europe/Oslo', 'UTC', CAST("source"."loaded_at" AS TIMESTAMPNTZ)) AS "loaded_at",
          CAST("source"."fare" AS DOUBLE) AS "fare",
          CAST("source"."rating" AS DOUBLE) AS "rating"
        FROM (
          SELECT
            *
          FROM "aligned_sources"."trip_events"
        ) AS "source"
      ) AS "row"
    ) AS "v"
    WHERE
      NOT "driver_id" IS NULL AND NOT "city" IS NULL AND NOT "event_at" IS NULL
  ) AS "d"
  WHERE
    "__aligned_version" = 1
)
SELECT
  "s".*
  EXCLUDE ("__aligned_row", "__aligned_time"),
  "__aligned_v0"."fare" AS "fare",
  COALESCE(CAST("__aligned_v0_agg_range"."__aligned_a0" AS BIGINT), 0) AS "trips_7d",
  CASE
    WHEN "__aligned_v0_agg_range"."__aligned_n1" >= 1
    THEN CAST("__aligned_v0_agg_range"."__aligned_a1" AS DOUBLE)
  END AS "fare_mean_30d",
  CASE
    WHEN "__aligned_v0_agg_range"."__aligned_n2" >= 2
    THEN CAST("__aligned_v0_agg_range"."__aligned_a2" AS DOUBLE)
  END AS "fare_max_7d",
  CASE
    WHEN "__aligned_v0_agg_range"."__aligned_n3" >= 1
    THEN CAST("__aligned_v0_agg_range"."__aligned_a3" AS DOUBLE)
  END AS "last_rating"
FROM "__aligned_spine" AS "s"
LEFT JOIN (
  SELECT
    "s"."__aligned_row",
    COUNT_IF("e"."__aligned_event" > "s"."__aligned_time" - INTERVAL '604800 SECOND') AS "__aligned_a0",
    AVG(CAST("e"."__aligned_of0" AS DOUBLE)) AS "__aligned_a1",
    COUNT("e"."__aligned_of0") AS "__aligned_n1",
    MAX(
      IFF(
        "e"."__aligned_event" > "s"."__aligned_time" - INTERVAL '604800 SECOND',
        "e"."__aligned_of0",
        NULL
      )
    ) AS "__aligned_a2",
    COUNT(
      IFF(
        "e"."__aligned_event" > "s"."__aligned_time" - INTERVAL '604800 SECOND',
        "e"."__aligned_of0",
        NULL
      )
    ) AS "__aligned_n2",
    (
      ARRAY_AGG(IFF(NOT "e"."__aligned_of1" IS NULL, "e"."__aligned_of1", NULL)) WITHIN GROUP (ORDER BY
        "e"."__aligned_event" DESC NULLS LAST)
    )[0] AS "__aligned_a3",
    COUNT("e"."__aligned_of1") AS "__aligned_n3"
  FROM "__aligned_spine" AS "s"
  JOIN "__aligned_v0_agg_events" AS "e"
    ON "s"."driver_id" = "e"."driver_id"
    AND "s"."city" = "e"."city"
    AND "e"."__aligned_event" > "s"."__aligned_time" - INTERVAL '2592000 SECOND'
    AND "e"."__aligned_event" <= "s"."__aligned_time"
  GROUP BY
    "s"."__aligned_row"
) AS "__aligned_v0_agg_range"
  ON "s"."__aligned_row" = "__aligned_v0_agg_range"."__aligned_row"
LEFT JOIN (
  SELECT
    "__aligned_row",
    "fare"
  FROM (
    SELECT
      "p"."__aligned_row",
      "v"."fare",
      ROW_NUMBER() OVER (
        PARTITION BY "p"."__aligned_row"
        ORDER BY "v"."event_at" DESC NULLS LAST, "v"."loaded_at" DESC NULLS LAST
      ) AS "__aligned_rank"
    FROM "__aligned_spine" AS "p"
    JOIN (
      SELECT
        "row"."driver_id",
        "row"."city",
        "row"."event_at",
        "row"."loaded_at",
        "row"."fare",
        "row"."rating",
        CAST("row"."fare" / NULLIF("row"."rating", 0) AS DOUBLE) AS "fare_per_star"
      FROM (
        SELECT
          "source"."driver_id" AS "driver_id",
          "source"."city" AS "city",
          CONVERT_TIMEZONE('Europe/Oslo', 'UTC', CAST("source"."event_at" AS TIMESTAMPNTZ)) AS "event_at",
          CONVERT_TIMEZONE('Europe/Oslo', 'UTC', CAST("source"."loaded_at" AS TIMESTAMPNTZ)) AS "loaded_at",
          CAST("source"."fare" AS DOUBLE) AS "fare",
          CAST("source"."rating" AS DOUBLE) AS "rating"
        FROM (
          SELECT
            *
          FROM "aligned_sources"."trip_events"
        ) AS "source"
      ) AS "row"
    ) AS "v"
      ON "v"."driver_id" = "p"."driver_id"
      AND "v"."city" = "p"."city"
      AND "v"."event_at" <= "p"."__aligned_time"
  ) AS "r"
  WHERE
    "__aligned_rank" = 1
) AS "__aligned_v0"
  ON "__aligned_v0"."__aligned_row" = "s"."__aligned_row"
ORDER BY
  "s"."__aligned_row"
