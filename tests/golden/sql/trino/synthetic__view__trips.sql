SELECT
  "row"."driver_id",
  "row"."city",
  "row"."event_at",
  "row"."loaded_at",
  "row"."fare",
  "row"."rating",
  CAST(CAST("row"."fare" AS DOUBLE) / NULLIF("row"."rating", 0) AS DOUBLE) AS "fare_per_star"
FROM (
  SELECT
    "source"."driver_id" AS "driver_id",
    "source"."city" AS "city",
    WITH_TIMEZONE(CAST("source"."event_at" AS TIMESTAMP(6)), 'Europe/Oslo') AS "event_at",
    WITH_TIMEZONE(CAST("source"."loaded_at" AS TIMESTAMP(6)), 'Europe/Oslo') AS "loaded_at",
    CAST("source"."fare" AS DOUBLE) AS "fare",
    CAST("source"."rating" AS REAL) AS "rating"
  FROM (
    SELECT
      *
    FROM "aligned_sources"."trip_events"
  ) AS "source"
) AS "row"
