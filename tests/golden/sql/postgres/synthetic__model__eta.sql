WITH "__aligned_spine" AS (
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
)
SELECT
  (
    "s"."__aligned_spine_record"
  ).*,
  COALESCE("__aligned_v0"."fare", 0) AS "fare",
  "__aligned_v0"."rating" AS "trips__rating",
  "__aligned_v1"."rating" AS "drivers__rating",
  "__aligned_v0"."fare_per_star" AS "fare_per_star",
  "__aligned_v1"."joined" AS "label"
FROM "__aligned_spine" AS "s"
LEFT JOIN LATERAL (
  SELECT
    "v"."fare",
    "v"."rating",
    "v"."fare_per_star"
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
    AND "v"."event_at" >= "s"."__aligned_time" - INTERVAL '86400 SECONDS'
  ORDER BY
    "v"."event_at" DESC,
    "v"."loaded_at" DESC NULLS LAST
  LIMIT 1
) AS "__aligned_v0"
  ON TRUE
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
            *,
            "id" AS "driver_id",
            "stars" AS "rating"
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
