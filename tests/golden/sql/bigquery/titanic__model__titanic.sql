WITH `__aligned_spine` AS (
  SELECT
    `__aligned_spine_source`.*,
    ROW_NUMBER() OVER (ORDER BY TO_JSON_STRING(`__aligned_spine_source`)) AS `__aligned_row`,
    CURRENT_TIMESTAMP() AS `__aligned_time`
  FROM (
    SELECT
      *
    FROM `aligned_sources`.`titanic_csv`
  ) AS `__aligned_spine_source`
)
SELECT
  `s`.*
  EXCEPT (`__aligned_row`, `__aligned_time`),
  `__aligned_v0`.`constant_filled_age` AS `constant_filled_age`,
  `__aligned_v0`.`is_male` AS `is_male`,
  `__aligned_v0`.`sibsp` AS `passenger__sibsp`,
  `__aligned_v0`.`pclass` AS `passenger__pclass`,
  `__aligned_v0`.`family_size` AS `family_size`,
  `__aligned_v0`.`survived` AS `passenger__survived`
FROM `__aligned_spine` AS `s`
LEFT JOIN (
  SELECT
    `passenger_id`,
    `constant_filled_age`,
    `is_male`,
    `sibsp`,
    `pclass`,
    `family_size`,
    `survived`
  FROM (
    SELECT
      `passenger_id`,
      `constant_filled_age`,
      `is_male`,
      `sibsp`,
      `pclass`,
      `family_size`,
      `survived`,
      ROW_NUMBER() OVER (PARTITION BY `passenger_id`) AS `__aligned_duplicate`
    FROM (
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
    ) AS `v`
  ) AS `n`
  WHERE
    `__aligned_duplicate` = 1
) AS `__aligned_v0`
  ON `s`.`passenger_id` = `__aligned_v0`.`passenger_id`
ORDER BY
  `s`.`__aligned_row`
