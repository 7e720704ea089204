SELECT
  "row"."passenger_id",
  "row"."age",
  "row"."sex",
  "row"."survived",
  "row"."sibsp",
  "row"."pclass",
  "row"."fare",
  "row"."cabin",
  "row"."name",
  CAST("row"."sex" = 'male' AS BOOLEAN) AS "is_male",
  CAST(COALESCE("row"."age", 0) AS DOUBLE PRECISION) AS "constant_filled_age",
  "row"."sibsp" + "row"."parch" + 1 AS "family_size"
FROM (
  SELECT
    CAST("source"."passenger_id" AS INT) AS "passenger_id",
    CAST("source"."age" AS DOUBLE PRECISION) AS "age",
    CAST("source"."sex" AS TEXT) AS "sex",
    CAST(CAST("source"."survived" AS TEXT) AS BOOLEAN) AS "survived",
    CAST("source"."sibsp" AS INT) AS "sibsp",
    CAST("source"."pclass" AS INT) AS "pclass",
    CAST("source"."fare" AS DOUBLE PRECISION) AS "fare",
    CAST("source"."cabin" AS TEXT) AS "cabin",
    CAST("source"."name" AS TEXT) AS "name",
    "source"."parch" AS "parch"
  FROM (
    SELECT
      *
    FROM "aligned_staging"."titanic__titanic_csv"
  ) AS "source"
) AS "row"
