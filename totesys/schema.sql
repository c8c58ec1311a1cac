-- The totesys operational schema, as the real (Prisma-managed) database has it: serial int ids,
-- timestamp(3) audit columns, numeric(10,2) money, agreed dates and payment_date as TEXT
-- 'YYYY-MM-DD', two enums. Column order follows the real database so COPY files line up.
-- Idempotent: every statement may run against a database that already has the schema.

DO $$ BEGIN
  CREATE TYPE payment_type_name AS ENUM ('SALES_RECEIPT', 'SALES_REFUND', 'PURCHASE_PAYMENT', 'PURCHASE_REFUND');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

DO $$ BEGIN
  CREATE TYPE transaction_type AS ENUM ('SALE', 'PURCHASE');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

CREATE TABLE IF NOT EXISTS _prisma_migrations (
  id                  varchar(36)  PRIMARY KEY,
  checksum            varchar(64)  NOT NULL,
  finished_at         timestamptz,
  migration_name      varchar(255) NOT NULL,
  logs                text,
  rolled_back_at      timestamptz,
  started_at          timestamptz  NOT NULL DEFAULT now(),
  applied_steps_count integer      NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS address (
  address_id     serial       PRIMARY KEY,
  address_line_1 varchar      NOT NULL,
  address_line_2 varchar,
  district       varchar,
  city           varchar      NOT NULL,
  postal_code    varchar      NOT NULL,
  country        varchar      NOT NULL,
  phone          varchar      NOT NULL,
  created_at     timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  last_updated   timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE IF NOT EXISTS counterparty (
  counterparty_id         serial       PRIMARY KEY,
  counterparty_legal_name varchar      NOT NULL,
  legal_address_id        integer      NOT NULL REFERENCES address (address_id),
  commercial_contact      varchar,
  delivery_contact        varchar,
  created_at              timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  last_updated            timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE IF NOT EXISTS currency (
  currency_id   serial       PRIMARY KEY,
  currency_code varchar(3)   NOT NULL,
  created_at    timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  last_updated  timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE IF NOT EXISTS department (
  department_id   serial       PRIMARY KEY,
  department_name varchar      NOT NULL,
  location        varchar,
  manager         varchar,
  created_at      timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  last_updated    timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE IF NOT EXISTS design (
  design_id     serial       PRIMARY KEY,
  created_at    timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  last_updated  timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  design_name   varchar      NOT NULL,
  file_location varchar      NOT NULL,
  file_name     varchar      NOT NULL
);

CREATE TABLE IF NOT EXISTS payment_type (
  payment_type_id   serial            PRIMARY KEY,
  payment_type_name payment_type_name NOT NULL,
  created_at        timestamp(3)      NOT NULL DEFAULT CURRENT_TIMESTAMP,
  last_updated      timestamp(3)      NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE IF NOT EXISTS staff (
  staff_id      serial       PRIMARY KEY,
  first_name    varchar      NOT NULL,
  last_name     varchar      NOT NULL,
  department_id integer      NOT NULL REFERENCES department (department_id),
  email_address varchar      NOT NULL,
  created_at    timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  last_updated  timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE IF NOT EXISTS purchase_order (
  purchase_order_id           serial        PRIMARY KEY,
  created_at                  timestamp(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP,
  last_updated                timestamp(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP,
  staff_id                    integer       NOT NULL REFERENCES staff (staff_id),
  counterparty_id             integer       NOT NULL REFERENCES counterparty (counterparty_id),
  item_code                   varchar       NOT NULL,
  item_quantity               integer       NOT NULL,
  item_unit_price             numeric(10,2) NOT NULL,
  currency_id                 integer       NOT NULL REFERENCES currency (currency_id),
  agreed_delivery_date        text          NOT NULL,
  agreed_payment_date         text          NOT NULL,
  agreed_delivery_location_id integer       NOT NULL REFERENCES address (address_id)
);

CREATE TABLE IF NOT EXISTS sales_order (
  sales_order_id              serial        PRIMARY KEY,
  created_at                  timestamp(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP,
  last_updated                timestamp(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP,
  design_id                   integer       NOT NULL REFERENCES design (design_id),
  staff_id                    integer       NOT NULL REFERENCES staff (staff_id),
  counterparty_id             integer       NOT NULL REFERENCES counterparty (counterparty_id),
  units_sold                  integer       NOT NULL,
  unit_price                  numeric(10,2) NOT NULL,
  currency_id                 integer       NOT NULL REFERENCES currency (currency_id),
  agreed_delivery_date        text          NOT NULL,
  agreed_payment_date         text          NOT NULL,
  agreed_delivery_location_id integer       NOT NULL REFERENCES address (address_id)
);

CREATE TABLE IF NOT EXISTS transaction (
  transaction_id    serial           PRIMARY KEY,
  transaction_type  transaction_type NOT NULL,
  sales_order_id    integer          REFERENCES sales_order (sales_order_id),
  purchase_order_id integer          REFERENCES purchase_order (purchase_order_id),
  created_at        timestamp(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP,
  last_updated      timestamp(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE IF NOT EXISTS payment (
  payment_id             serial        PRIMARY KEY,
  created_at             timestamp(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP,
  last_updated           timestamp(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP,
  transaction_id         integer       NOT NULL REFERENCES transaction (transaction_id),
  counterparty_id        integer       NOT NULL REFERENCES counterparty (counterparty_id),
  payment_amount         numeric(10,2) NOT NULL,
  currency_id            integer       NOT NULL REFERENCES currency (currency_id),
  payment_type_id        integer       NOT NULL REFERENCES payment_type (payment_type_id),
  paid                   boolean       NOT NULL,
  payment_date           text          NOT NULL,
  company_ac_number      integer       NOT NULL,
  counterparty_ac_number integer       NOT NULL
);
