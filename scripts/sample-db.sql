-- The demo's sample database: a small shop, with tables of different
-- shapes (integer, composite and string keys, no key), awkward values, a
-- view, a trigger and routines. About 90,000 rows.
-- Usage: mariadb < scripts/sample-db.sql   (creates the database `rdump_demo`)
SET NAMES utf8mb4;
SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION';
DROP DATABASE IF EXISTS `rdump_demo`;
CREATE DATABASE `rdump_demo` DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
USE `rdump_demo`;

CREATE TABLE `customers` (
  `id` INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  `name` VARCHAR(100) NOT NULL,
  `email` VARCHAR(150) NOT NULL,
  `country` CHAR(2) NOT NULL,
  `balance` DECIMAL(12,2) NOT NULL DEFAULT 0,
  `signed_up` DATETIME NOT NULL,
  `notes` TEXT NULL,
  UNIQUE KEY `email` (`email`),
  KEY `country` (`country`)
) ENGINE=InnoDB;
INSERT INTO `customers` (`name`, `email`, `country`, `balance`, `signed_up`, `notes`)
  SELECT CONCAT('Customer ', seq),
         CONCAT('c', seq, '@example.test'),
         ELT(1 + seq % 6, 'DE', 'FR', 'US', 'JP', 'BR', 'NZ'),
         (seq * 37 % 100000) / 100,
         '2020-01-01 00:00:00' + INTERVAL seq MINUTE,
         CASE seq % 5 WHEN 0 THEN NULL WHEN 1 THEN 'NULL' WHEN 2 THEN 'quote '' and "double"'
                      WHEN 3 THEN 'tab\tnewline\nbackslash\\' ELSE 'Grüße, 日本, ça va' END
  FROM seq_1_to_20000;

CREATE TABLE `products` (
  `sku` VARCHAR(32) NOT NULL PRIMARY KEY,
  `title` VARCHAR(200) NOT NULL,
  `price` DECIMAL(10,2) NOT NULL,
  `weight` DOUBLE NULL,
  `ratio` FLOAT NULL,
  `attrs` JSON NULL,
  `image` BLOB NULL
) ENGINE=InnoDB;
INSERT INTO `products`
  SELECT CONCAT('SKU-', LPAD(seq, 6, '0')), CONCAT('Product #', seq), 1 + (seq % 500) + 0.99,
         seq / 7, seq / 3,
         JSON_OBJECT('colour', ELT(1 + seq % 3, 'red', 'green', 'blue'), 'size', seq % 10),
         IF(seq % 4 = 0, UNHEX(SHA2(seq, 256)), NULL)
  FROM seq_1_to_2000;

CREATE TABLE `orders` (
  `id` BIGINT NOT NULL PRIMARY KEY,
  `customer_id` INT UNSIGNED NOT NULL,
  `status` ENUM('new', 'paid', 'shipped', 'cancelled') NOT NULL,
  `total` DECIMAL(12,2) NOT NULL,
  `placed_at` TIMESTAMP(3) NOT NULL,
  `flags` SET('gift', 'express', 'fragile') NOT NULL DEFAULT '',
  KEY `customer` (`customer_id`),
  CONSTRAINT `orders_customer` FOREIGN KEY (`customer_id`) REFERENCES `customers` (`id`)
) ENGINE=InnoDB;
INSERT INTO `orders`
  SELECT seq, 1 + seq % 20000, ELT(1 + seq % 4, 'new', 'paid', 'shipped', 'cancelled'),
         (seq * 13 % 50000) / 100, '2021-06-01 00:00:00' + INTERVAL seq SECOND,
         ELT(1 + seq % 4, '', 'gift', 'express,fragile', 'gift,express')
  FROM seq_1_to_50000;

CREATE TABLE `order_items` (
  `order_id` BIGINT NOT NULL,
  `line` SMALLINT NOT NULL,
  `sku` VARCHAR(32) NOT NULL,
  `qty` INT NOT NULL,
  PRIMARY KEY (`order_id`, `line`)
) ENGINE=InnoDB;
INSERT INTO `order_items`
  SELECT 1 + seq DIV 2, seq % 2, CONCAT('SKU-', LPAD(1 + seq % 2000, 6, '0')), 1 + seq % 3
  FROM seq_0_to_15999;

CREATE TABLE `audit_log` (
  `at` DATETIME(6) NOT NULL,
  `who` VARCHAR(50) NULL,
  `what` VARBINARY(64) NULL
) ENGINE=InnoDB;
INSERT INTO `audit_log`
  SELECT '2022-01-01 00:00:00' + INTERVAL seq SECOND, IF(seq % 3 = 0, NULL, CONCAT('user', seq % 17)),
         UNHEX(LPAD(HEX(seq * 2654435761 % 4294967296), 16, '0'))
  FROM seq_1_to_2000;

CREATE TABLE `empty_things` (`id` INT PRIMARY KEY, `v` VARCHAR(10)) ENGINE=InnoDB;

CREATE VIEW `customer_totals` AS
  SELECT c.`id`, c.`name`, COUNT(o.`id`) AS `orders`, COALESCE(SUM(o.`total`), 0) AS `spent`
  FROM `customers` c LEFT JOIN `orders` o ON o.`customer_id` = c.`id`
  GROUP BY c.`id`, c.`name`;

DELIMITER ;;
CREATE TRIGGER `orders_bi` BEFORE INSERT ON `orders` FOR EACH ROW
BEGIN
  IF NEW.`total` < 0 THEN SET NEW.`total` = 0; END IF;
END;;
CREATE PROCEDURE `orders_of`(IN cid INT)
BEGIN
  SELECT * FROM `orders` WHERE `customer_id` = cid; -- one customer's orders
END;;
CREATE FUNCTION `with_tax`(amount DECIMAL(12,2)) RETURNS DECIMAL(12,2) DETERMINISTIC
  RETURN amount * 1.19;;
DELIMITER ;
