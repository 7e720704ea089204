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
  CAST(`row`.`sex` = 'male' AS BOOLEAN) AS `is_male`,
  CAST(COALESCE(`row`.`age`, 0) AS DOUBLE) AS `constant_filled_age`,
  `row`.`sibsp` + `row`.`parch` + 1 AS `family_size`
FROM (
  SELECT
    CAST(`source`.`passenger_id` AS INT) AS `passenger_id`,
    CAST(`source`.`age` AS DOUBLE) AS `age`,
    CAST(`source`.`sex` AS STRING) AS `sex`,
    CAST(`source`.`survived` AS BOOLEAN) AS `survived`,
    CAST(`source`.`sibsp` AS INT) AS `sibsp`,
    CAST(`source`.`pclass` AS INT) AS `pclass`,
    CAST(`source`.`fare` AS DOUBLE) AS `fare`,
    CAST(`source`.`cabin` AS STRING) AS `cabin`,
    CAST(`source`.`name` AS STRING) AS `name`,
    `source`.`parch` AS `parch`
  FROM (
    SELECT
      *
    FROM `aligned_source__titanic_csv`
  ) AS `source`
) AS `row`
