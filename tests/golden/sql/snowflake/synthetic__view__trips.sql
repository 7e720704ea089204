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
