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
