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
    CASE
      WHEN TYPEOF("source"."event_at") IN ('TIMESTAMP WITH TIME ZONE')
      THEN CAST("source"."event_at" AS TIMESTAMPTZ)
      ELSE TIMEZONE('Europe/Oslo', CAST("source"."event_at" AS TIMESTAMP))
    END AS "event_at",
    CASE
      WHEN TYPEOF("source"."loaded_at") IN ('TIMESTAMP WITH TIME ZONE')
      THEN CAST("source"."loaded_at" AS TIMESTAMPTZ)
      ELSE TIMEZONE('Europe/Oslo', CAST("source"."loaded_at" AS TIMESTAMP))
    END AS "loaded_at",
    CAST("source"."fare" AS DOUBLE) AS "fare",
    CAST("source"."rating" AS REAL) AS "rating"
  FROM (
    SELECT
      *
    FROM READ_PARQUET('data/trips/*.parquet')
  ) AS "source"
) AS "row"
