SELECT
  `row`.`driver_id`,
  `row`.`city`,
  `row`.`event_at`,
  `row`.`loaded_at`,
  `row`.`fare`,
  `row`.`rating`,
  CAST(`row`.`fare` / NULLIF(`row`.`rating`, 0) AS DOUBLE) AS `fare_per_star`
FROM (
  SELECT
    `source`.`driver_id` AS `driver_id`,
    `source`.`city` AS `city`,
    CASE
      WHEN TYPEOF(`source`.`event_at`) = 'timestamp'
      THEN CAST(`source`.`event_at` AS TIMESTAMP)
      ELSE TO_UTC_TIMESTAMP(CAST(`source`.`event_at` AS TIMESTAMP), 'Europe/Oslo')
    END AS `event_at`,
    CASE
      WHEN TYPEOF(`source`.`loaded_at`) = 'timestamp'
      THEN CAST(`source`.`loaded_at` AS TIMESTAMP)
      ELSE TO_UTC_TIMESTAMP(CAST(`source`.`loaded_at` AS TIMESTAMP), 'Europe/Oslo')
    END AS `loaded_at`,
    CAST(`source`.`fare` AS DOUBLE) AS `fare`,
    CAST(`source`.`rating` AS FLOAT) AS `rating`
  FROM (
    SELECT
      *
    FROM `aligned_source__trip_events`
  ) AS `source`
) AS `row`
