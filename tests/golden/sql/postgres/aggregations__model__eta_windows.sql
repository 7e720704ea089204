WITH "__aligned_spine" AS MATERIALIZED (
  SELECT
    "__aligned_spine_source".*,
    "__aligned_spine_source" AS "__aligned_spine_record",
    ROW_NUMBER() OVER () AS "__aligned_row",
    CASE
      WHEN CAST(PG_TYPEOF("__aligned_spine_source"."requested_at") AS TEXT) IN ('timestamp with time zone', 'text', 'character varying')
      THEN CAST("__aligned_spine_source"."requested_at" AS TIMESTAMPTZ)
      ELSE CAST("__aligned_spine_source"."requested_at" AS TIMESTAMP) AT TIME ZONE 'UTC'
    END AS "__aligned_time"
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
        CAST(CAST("row"."fare" AS DOUBLE PRECISION) / NULLIF("row"."rating", 0) AS DOUBLE PRECISION) AS "fare_per_star"
      FROM (
        SELECT
          "source"."driver_id" AS "driver_id",
          "source"."city" AS "city",
          CASE
            WHEN CAST(PG_TYPEOF("source"."event_at") AS TEXT) IN ('timestamp with time zone')
            THEN CAST("source"."event_at" AS TIMESTAMPTZ)
            ELSE CAST("source"."event_at" AS TIMESTAMP) AT TIME ZONE 'Europe/Oslo'
          END AS "event_at",
          CASE
            WHEN CAST(PG_TYPEOF("source"."loaded_at") AS TEXT) IN ('timestamp with time zone')
            THEN CAST("source"."loaded_at" AS TIMESTAMPTZ)
            ELSE CAST("source"."loaded_at" AS TIMESTAMP) AT TIME ZONE 'Europe/Oslo'
          END AS "loaded_at",
          CAST("source"."fare" AS DOUBLE PRECISION) AS "fare",
          CAST("source"."rating" AS REAL) AS "rating"
        FROM (
          SELECT
            *
          FROM "aligned_staging"."synthetic__trip_events"
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
  (
    "s"."__aligned_spine_record"
  ).*,
  "__aligned_v0"."fare" AS "fare",
  COALESCE(CAST("__aligned_v0_agg_range"."__aligned_a0" AS BIGINT), 0) AS "trips_7d",
  CASE
    WHEN "__aligned_v0_agg_range"."__aligned_n1" >= 1
    THEN CAST("__aligned_v0_agg_range"."__aligned_a1" AS DOUBLE PRECISION)
  END AS "fare_mean_30d",
  CASE
    WHEN "__aligned_v0_agg_range"."__aligned_n2" >= 2
    THEN CAST("__aligned_v0_agg_range"."__aligned_a2" AS DOUBLE PRECISION)
  END AS "fare_max_7d",
  CASE
    WHEN "__aligned_v0_agg_range"."__aligned_n3" >= 1
    THEN CAST("__aligned_v0_agg_range"."__aligned_a3" AS REAL)
  END AS "last_rating"
FROM "__aligned_spine" AS "s"
LEFT JOIN (
  SELECT
    "s"."__aligned_row",
    COUNT(*) FILTER(WHERE
      "e"."__aligned_event" > "s"."__aligned_time" - INTERVAL '604800 SECONDS') AS "__aligned_a0",
    AVG(CAST("e"."__aligned_of0" AS DOUBLE PRECISION)) AS "__aligned_a1",
    COUNT("e"."__aligned_of0") AS "__aligned_n1",
    MAX("e"."__aligned_of0") FILTER(WHERE
      "e"."__aligned_event" > "s"."__aligned_time" - INTERVAL '604800 SECONDS') AS "__aligned_a2",
    COUNT("e"."__aligned_of0") FILTER(WHERE
      "e"."__aligned_event" > "s"."__aligned_time" - INTERVAL '604800 SECONDS') AS "__aligned_n2",
    (
      ARRAY_AGG("e"."__aligned_of1" ORDER BY "e"."__aligned_event" DESC NULLS LAST) FILTER(WHERE
        NOT "e"."__aligned_of1" IS NULL)
    )[1] AS "__aligned_a3",
    COUNT("e"."__aligned_of1") AS "__aligned_n3"
  FROM "__aligned_spine" AS "s"
  JOIN "__aligned_v0_agg_events" AS "e"
    ON "s"."driver_id" = "e"."driver_id"
    AND "s"."city" = "e"."city"
    AND "e"."__aligned_event" > "s"."__aligned_time" - INTERVAL '2592000 SECONDS'
    AND "e"."__aligned_event" <= "s"."__aligned_time"
  GROUP BY
    "s"."__aligned_row"
) AS "__aligned_v0_agg_range"
  ON "s"."__aligned_row" = "__aligned_v0_agg_range"."__aligned_row"
LEFT JOIN LATERAL (
  SELECT
    "v"."fare"
  FROM (
    SELECT
      "row"."driver_id",
      "row"."city",
      "row"."event_at",
      "row"."loaded_at",
      "row"."fare",
      "row"."rating",
      CAST(CAST("row"."fare" AS DOUBLE PRECISION) / NULLIF("row"."rating", 0) AS DOUBLE PRECISION) AS "fare_per_star"
    FROM (
      SELECT
        "source"."driver_id" AS "driver_id",
        "source"."city" AS "city",
        CASE
          WHEN CAST(PG_TYPEOF("source"."event_at") AS TEXT) IN ('timestamp with time zone')
          THEN CAST("source"."event_at" AS TIMESTAMPTZ)
          ELSE CAST("source"."event_at" AS TIMESTAMP) AT TIME ZONE 'Europe/Oslo'
        END AS "event_at",
        CASE
          WHEN CAST(PG_TYPEOF("source"."loaded_at") AS TEXT) IN ('timestamp with time zone')
          THEN CAST("source"."loaded_at" AS TIMESTAMPTZ)
          ELSE CAST("source"."loaded_at" AS TIMESTAMP) AT TIME ZONE 'Europe/Oslo'
        END AS "loaded_at",
        CAST("source"."fare" AS DOUBLE PRECISION) AS "fare",
        CAST("source"."rating" AS REAL) AS "rating"
      FROM (
        SELECT
          *
        FROM "aligned_staging"."synthetic__trip_events"
      ) AS "source"
    ) AS "row"
  ) AS "v"
  WHERE
    "v"."driver_id" = "s"."driver_id"
    AND "v"."city" = "s"."city"
    AND "v"."event_at" <= "s"."__aligned_time"
  ORDER BY
    "v"."event_at" DESC,
    "v"."loaded_at" DESC NULLS LAST
  LIMIT 1
) AS "__aligned_v0"
  ON TRUE
ORDER BY
  "s"."__aligned_row"
