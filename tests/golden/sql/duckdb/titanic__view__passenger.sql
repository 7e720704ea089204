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
  CAST(COALESCE("row"."age", 0) AS DOUBLE) AS "constant_filled_age",
  "row"."sibsp" + "row"."parch" + 1 AS "family_size"
FROM (
  SELECT
    CAST("source"."passenger_id" AS INT) AS "passenger_id",
    CAST("source"."age" AS DOUBLE) AS "age",
    CAST("source"."sex" AS TEXT) AS "sex",
    CAST("source"."survived" AS BOOLEAN) AS "survived",
    CAST("source"."sibsp" AS INT) AS "sibsp",
    CAST("source"."pclass" AS INT) AS "pclass",
    CAST("source"."fare" AS DOUBLE) AS "fare",
    CAST("source"."cabin" AS TEXT) AS "cabin",
    CAST("source"."name" AS TEXT) AS "name",
    "source"."parch" AS "parch"
  FROM (
    SELECT
      *
      RENAME ("PassengerId" AS "passenger_id", "Survived" AS "survived", "Pclass" AS "pclass", "Name" AS "name", "Sex" AS "sex", "Age" AS "age", "SibSp" AS "sibsp", "Parch" AS "parch", "Fare" AS "fare", "Cabin" AS "cabin", "Embarked" AS "embarked")
    FROM READ_CSV('data/titanic.csv')
  ) AS "source"
) AS "row"
