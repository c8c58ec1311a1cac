-- The totesys schema as Prisma migrations create it in the real database: the same tables, columns
-- and types as totesys/schema.sql, but spelled the Prisma way: quoted identifiers, enum types with
-- quoted mixed-case names, named primary keys, foreign keys ON UPDATE CASCADE (ON DELETE RESTRICT
-- for required relations, ON DELETE SET NULL for optional ones) and unique indexes.
-- Test fixture for the end-to-end tests on another Postgres major (test/support/postgres-cluster.ts).

CREATE TYPE "PaymentTypeName" AS ENUM ('SALES_RECEIPT', 'SALES_REFUND', 'PURCHASE_PAYMENT', 'PURCHASE_REFUND');
CREATE TYPE "TransactionType" AS ENUM ('SALE', 'PURCHASE');

CREATE TABLE "_prisma_migrations" (
    "id" VARCHAR(36) NOT NULL,
    "checksum" VARCHAR(64) NOT NULL,
    "finished_at" TIMESTAMPTZ,
    "migration_name" VARCHAR(255) NOT NULL,
    "logs" TEXT,
    "rolled_back_at" TIMESTAMPTZ,
    "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT "_prisma_migrations_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "address" (
    "address_id" SERIAL NOT NULL,
    "address_line_1" VARCHAR NOT NULL,
    "address_line_2" VARCHAR,
    "district" VARCHAR,
    "city" VARCHAR NOT NULL,
    "postal_code" VARCHAR NOT NULL,
    "country" VARCHAR NOT NULL,
    "phone" VARCHAR NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_updated" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "address_pkey" PRIMARY KEY ("address_id")
);

CREATE TABLE "counterparty" (
    "counterparty_id" SERIAL NOT NULL,
    "counterparty_legal_name" VARCHAR NOT NULL,
    "legal_address_id" INTEGER NOT NULL,
    "commercial_contact" VARCHAR,
    "delivery_contact" VARCHAR,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_updated" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "counterparty_pkey" PRIMARY KEY ("counterparty_id")
);

CREATE TABLE "currency" (
    "currency_id" SERIAL NOT NULL,
    "currency_code" VARCHAR(3) NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_updated" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "currency_pkey" PRIMARY KEY ("currency_id")
);

CREATE TABLE "department" (
    "department_id" SERIAL NOT NULL,
    "department_name" VARCHAR NOT NULL,
    "location" VARCHAR,
    "manager" VARCHAR,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_updated" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "department_pkey" PRIMARY KEY ("department_id")
);

CREATE TABLE "design" (
    "design_id" SERIAL NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_updated" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "design_name" VARCHAR NOT NULL,
    "file_location" VARCHAR NOT NULL,
    "file_name" VARCHAR NOT NULL,
    CONSTRAINT "design_pkey" PRIMARY KEY ("design_id")
);

CREATE TABLE "payment_type" (
    "payment_type_id" SERIAL NOT NULL,
    "payment_type_name" "PaymentTypeName" NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_updated" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "payment_type_pkey" PRIMARY KEY ("payment_type_id")
);

CREATE TABLE "staff" (
    "staff_id" SERIAL NOT NULL,
    "first_name" VARCHAR NOT NULL,
    "last_name" VARCHAR NOT NULL,
    "department_id" INTEGER NOT NULL,
    "email_address" VARCHAR NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_updated" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "staff_pkey" PRIMARY KEY ("staff_id")
);

CREATE TABLE "purchase_order" (
    "purchase_order_id" SERIAL NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_updated" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "staff_id" INTEGER NOT NULL,
    "counterparty_id" INTEGER NOT NULL,
    "item_code" VARCHAR NOT NULL,
    "item_quantity" INTEGER NOT NULL,
    "item_unit_price" DECIMAL(10,2) NOT NULL,
    "currency_id" INTEGER NOT NULL,
    "agreed_delivery_date" TEXT NOT NULL,
    "agreed_payment_date" TEXT NOT NULL,
    "agreed_delivery_location_id" INTEGER NOT NULL,
    CONSTRAINT "purchase_order_pkey" PRIMARY KEY ("purchase_order_id")
);

CREATE TABLE "sales_order" (
    "sales_order_id" SERIAL NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_updated" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "design_id" INTEGER NOT NULL,
    "staff_id" INTEGER NOT NULL,
    "counterparty_id" INTEGER NOT NULL,
    "units_sold" INTEGER NOT NULL,
    "unit_price" DECIMAL(10,2) NOT NULL,
    "currency_id" INTEGER NOT NULL,
    "agreed_delivery_date" TEXT NOT NULL,
    "agreed_payment_date" TEXT NOT NULL,
    "agreed_delivery_location_id" INTEGER NOT NULL,
    CONSTRAINT "sales_order_pkey" PRIMARY KEY ("sales_order_id")
);

CREATE TABLE "transaction" (
    "transaction_id" SERIAL NOT NULL,
    "transaction_type" "TransactionType" NOT NULL,
    "sales_order_id" INTEGER,
    "purchase_order_id" INTEGER,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_updated" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "transaction_pkey" PRIMARY KEY ("transaction_id")
);

CREATE TABLE "payment" (
    "payment_id" SERIAL NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_updated" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "transaction_id" INTEGER NOT NULL,
    "counterparty_id" INTEGER NOT NULL,
    "payment_amount" DECIMAL(10,2) NOT NULL,
    "currency_id" INTEGER NOT NULL,
    "payment_type_id" INTEGER NOT NULL,
    "paid" BOOLEAN NOT NULL,
    "payment_date" TEXT NOT NULL,
    "company_ac_number" INTEGER NOT NULL,
    "counterparty_ac_number" INTEGER NOT NULL,
    CONSTRAINT "payment_pkey" PRIMARY KEY ("payment_id")
);

CREATE UNIQUE INDEX "currency_currency_code_key" ON "currency"("currency_code");
CREATE UNIQUE INDEX "department_department_name_key" ON "department"("department_name");
CREATE UNIQUE INDEX "transaction_sales_order_id_key" ON "transaction"("sales_order_id");
CREATE UNIQUE INDEX "transaction_purchase_order_id_key" ON "transaction"("purchase_order_id");

ALTER TABLE "counterparty" ADD CONSTRAINT "counterparty_legal_address_id_fkey" FOREIGN KEY ("legal_address_id") REFERENCES "address"("address_id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "staff" ADD CONSTRAINT "staff_department_id_fkey" FOREIGN KEY ("department_id") REFERENCES "department"("department_id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "purchase_order" ADD CONSTRAINT "purchase_order_staff_id_fkey" FOREIGN KEY ("staff_id") REFERENCES "staff"("staff_id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "purchase_order" ADD CONSTRAINT "purchase_order_counterparty_id_fkey" FOREIGN KEY ("counterparty_id") REFERENCES "counterparty"("counterparty_id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "purchase_order" ADD CONSTRAINT "purchase_order_currency_id_fkey" FOREIGN KEY ("currency_id") REFERENCES "currency"("currency_id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "purchase_order" ADD CONSTRAINT "purchase_order_agreed_delivery_location_id_fkey" FOREIGN KEY ("agreed_delivery_location_id") REFERENCES "address"("address_id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "sales_order" ADD CONSTRAINT "sales_order_design_id_fkey" FOREIGN KEY ("design_id") REFERENCES "design"("design_id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "sales_order" ADD CONSTRAINT "sales_order_staff_id_fkey" FOREIGN KEY ("staff_id") REFERENCES "staff"("staff_id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "sales_order" ADD CONSTRAINT "sales_order_counterparty_id_fkey" FOREIGN KEY ("counterparty_id") REFERENCES "counterparty"("counterparty_id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "sales_order" ADD CONSTRAINT "sales_order_currency_id_fkey" FOREIGN KEY ("currency_id") REFERENCES "currency"("currency_id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "sales_order" ADD CONSTRAINT "sales_order_agreed_delivery_location_id_fkey" FOREIGN KEY ("agreed_delivery_location_id") REFERENCES "address"("address_id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "transaction" ADD CONSTRAINT "transaction_sales_order_id_fkey" FOREIGN KEY ("sales_order_id") REFERENCES "sales_order"("sales_order_id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "transaction" ADD CONSTRAINT "transaction_purchase_order_id_fkey" FOREIGN KEY ("purchase_order_id") REFERENCES "purchase_order"("purchase_order_id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "payment" ADD CONSTRAINT "payment_transaction_id_fkey" FOREIGN KEY ("transaction_id") REFERENCES "transaction"("transaction_id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "payment" ADD CONSTRAINT "payment_counterparty_id_fkey" FOREIGN KEY ("counterparty_id") REFERENCES "counterparty"("counterparty_id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "payment" ADD CONSTRAINT "payment_currency_id_fkey" FOREIGN KEY ("currency_id") REFERENCES "currency"("currency_id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "payment" ADD CONSTRAINT "payment_payment_type_id_fkey" FOREIGN KEY ("payment_type_id") REFERENCES "payment_type"("payment_type_id") ON DELETE RESTRICT ON UPDATE CASCADE;
