WITH "__aligned_spine" AS (
  SELECT
    "__aligned_spine_source".*,
    ROW_NUMBER() OVER () AS "__aligned_row",
    TIMEZONE(
      'UTC',
      CAST(CASE
        WHEN TYPEOF("__aligned_spine_source"."requested_at") IN ('TIMESTAMP WITH TIME ZONE', 'VARCHAR')
        THEN CAST("__aligned_spine_source"."requested_at" AS TIMESTAMPTZ)
        ELSE TIMEZONE('UTC', CAST("__aligned_spine_source"."requested_at" AS TIMESTAMP))
      END AS TIMESTAMPTZ)
    ) AS "__aligned_time"
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
)
SELECT
  "s".*
  EXCLUDE ("__aligned_row", "__aligned_time"),
  COALESCE(
    CASE
      WHEN NOT "s"."__aligned_time" IS NULL
      AND "__aligned_v0"."__aligned_event" >= "s"."__aligned_time" - TO_MICROSECONDS(86400000000)
      THEN "__aligned_v0"."fare"
    END,
    0
  ) AS "fare",
  CASE
    WHEN NOT "s"."__aligned_time" IS NULL
    AND "__aligned_v0"."__aligned_event" >= "s"."__aligned_time" - TO_MICROSECONDS(86400000000)
    THEN "__aligned_v0"."rating"
  END AS "trips__rating",
  "__aligned_v1"."rating" AS "drivers__rating",
  CASE
    WHEN NOT "s"."__aligned_time" IS NULL
    AND "__aligned_v0"."__aligned_event" >= "s"."__aligned_time" - TO_MICROSECONDS(86400000000)
    THEN "__aligned_v0"."fare_per_star"
  END AS "fare_per_star",
  "__aligned_v1"."joined" AS "label"
FROM "__aligned_spine" AS "s"
ASOF LEFT JOIN (
  SELECT
    "driver_id",
    "city",
    "fare",
    "rating",
    "fare_per_star",
    "__aligned_pit_event" AS "__aligned_event",
    {'t': "__aligned_pit_event", 'c': COALESCE("__aligned_pit_created", CAST('-infinity' AS TIMESTAMP))} AS "__aligned_key"
  FROM (
    SELECT
      "row"."driver_id",
      "row"."city",
      "row"."event_at",
      "row"."loaded_at",
      "row"."fare",
      "row"."rating",
      CAST("row"."fare" / NULLIF("row"."rating", 0) AS DOUBLE) AS "fare_per_star",
      "row"."__aligned_pit_event",
      "row"."__aligned_pit_created"
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
        CAST("source"."rating" AS REAL) AS "rating",
        TIMEZONE(
          'UTC',
          CAST(CASE
            WHEN TYPEOF("source"."event_at") IN ('TIMESTAMP WITH TIME ZONE')
            THEN CAST("source"."event_at" AS TIMESTAMPTZ)
            ELSE TIMEZONE('Europe/Oslo', CAST("source"."event_at" AS TIMESTAMP))
          END AS TIMESTAMPTZ)
        ) AS "__aligned_pit_event",
        TIMEZONE(
          'UTC',
          CAST(CASE
            WHEN TYPEOF("source"."loaded_at") IN ('TIMESTAMP WITH TIME ZONE')
            THEN CAST("source"."loaded_at" AS TIMESTAMPTZ)
            ELSE TIMEZONE('Europe/Oslo', CAST("source"."loaded_at" AS TIMESTAMP))
          END AS TIMESTAMPTZ)
        ) AS "__aligned_pit_created"
      FROM (
        SELECT
          *
        FROM READ_PARQUET('data/trips/*.parquet')
      ) AS "source"
    ) AS "row"
  ) AS "v"
  WHERE
    NOT "__aligned_pit_event" IS NULL
) AS "__aligned_v0"
  ON "s"."driver_id" = "__aligned_v0"."driver_id"
  AND "s"."city" = "__aligned_v0"."city"
  AND {'t': COALESCE("s"."__aligned_time", CAST('-infinity' AS TIMESTAMP)), 'c': CAST('infinity' AS TIMESTAMP)} >= "__aligned_v0"."__aligned_key"
LEFT JOIN (
  SELECT
    "driver_id",
    "rating",
    "joined"
  FROM (
    SELECT
      "driver_id",
      "rating",
      "joined",
      ROW_NUMBER() OVER (PARTITION BY "driver_id") AS "__aligned_duplicate"
    FROM (
      SELECT
        "row"."driver_id",
        "row"."rating",
        "row"."joined"
      FROM (
        SELECT
          "source"."driver_id" AS "driver_id",
          CAST("source"."rating" AS SMALLINT) AS "rating",
          CAST("source"."joined" AS DATE) AS "joined"
        FROM (
          SELECT
            *
            RENAME ("id" AS "driver_id", "stars" AS "rating")
          FROM "public"."drivers"
        ) AS "source"
      ) AS "row"
    ) AS "v"
  ) AS "n"
  WHERE
    "__aligned_duplicate" = 1
) AS "__aligned_v1"
  ON "s"."driver_id" = "__aligned_v1"."driver_id"
ORDER BY
  "s"."__aligned_row"
