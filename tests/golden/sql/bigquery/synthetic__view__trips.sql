SELECT
  `row`.`driver_id`,
  `row`.`city`,
  `row`.`event_at`,
  `row`.`loaded_at`,
  `row`.`fare`,
  `row`.`rating`,
  CAST(`row`.`fare` / NULLIF(`row`.`rating`, 0) AS FLOAT64) AS `fare_per_star`
FROM (
  SELECT
    `source`.`driver_id` AS `driver_id`,
    `source`.`city` AS `city`,
    TIMESTAMP(CAST(`source`.`event_at` AS DATETIME), 'Europe/Oslo') AS `event_at`,
    TIMESTAMP(CAST(`source`.`loaded_at` AS DATETIME), 'Europe/Oslo') AS `loaded_at`,
    CAST(`source`.`fare` AS FLOAT64) AS `fare`,
    CAST(`source`.`rating` AS FLOAT64) AS `rating`
  FROM (
    SELECT
      *
    FROM `aligned_sources`.`trip_events`
  ) AS `source`
) AS `row`
