SELECT
  `row`.`passenger_id`,
  `row`.`age`,
  `row`.`sex`,
  `row`.`survived`,
  `row`.`sibsp`,
  `row`.`pclass`,
  `row`.`fare`,
  `row`.`cabin`,
  `row`.`name`,
  CAST(`row`.`sex` = 'male' AS BOOL) AS `is_male`,
  CAST(COALESCE(`row`.`age`, 0) AS FLOAT64) AS `constant_filled_age`,
  `row`.`sibsp` + `row`.`parch` + 1 AS `family_size`
FROM (
  SELECT
    CAST(`source`.`passenger_id` AS INT64) AS `passenger_id`,
    CAST(`source`.`age` AS FLOAT64) AS `age`,
    CAST(`source`.`sex` AS STRING) AS `sex`,
    CAST(`source`.`survived` AS BOOL) AS `survived`,
    CAST(`source`.`sibsp` AS INT64) AS `sibsp`,
    CAST(`source`.`pclass` AS INT64) AS `pclass`,
    CAST(`source`.`fare` AS FLOAT64) AS `fare`,
    CAST(`source`.`cabin` AS STRING) AS `cabin`,
    CAST(`source`.`name` AS STRING) AS `name`,
    `source`.`parch` AS `parch`
  FROM (
    SELECT
      *
    FROM `aligned_sources`.`titanic_csv`
  ) AS `source`
) AS `row`
