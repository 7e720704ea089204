WITH "__aligned_spine" AS (
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
)
SELECT
  "s".*
  EXCLUDE ("__aligned_row", "__aligned_time"),
  COALESCE("__aligned_v0"."fare", 0) AS "fare",
  "__aligned_v0"."rating" AS "trips__rating",
  "__aligned_v1"."rating" AS "drivers__rating",
  "__aligned_v0"."fare_per_star" AS "fare_per_star",
  "__aligned_v1"."joined" AS "label"
FROM "__aligned_spine" AS "s"
LEFT JOIN (
  SELECT
    "__aligned_row",
    "fare",
    "rating",
    "fare_per_star"
  FROM (
    SELECT
      "p"."__aligned_row",
      "v"."fare",
      "v"."rating",
      "v"."fare_per_star",
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
      AND "v"."event_at" >= "p"."__aligned_time" - INTERVAL '86400 SECOND'
  ) AS "r"
  WHERE
    "__aligned_rank" = 1
) AS "__aligned_v0"
  ON "__aligned_v0"."__aligned_row" = "s"."__aligned_row"
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
