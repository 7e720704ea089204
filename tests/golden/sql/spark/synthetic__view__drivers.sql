SELECT
  `row`.`driver_id`,
  `row`.`rating`,
  `row`.`joined`
FROM (
  SELECT
    `source`.`driver_id` AS `driver_id`,
    CAST(`source`.`rating` AS SMALLINT) AS `rating`,
    CAST(`source`.`joined` AS DATE) AS `joined`
  FROM (
    SELECT
      *,
      `id` AS `driver_id`,
      `stars` AS `rating`
    FROM `public`.`drivers`
  ) AS `source`
) AS `row`
