-- CreateTable
CREATE TABLE "installation" (
    "id" UUID NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "installation_pkey" PRIMARY KEY ("id")
);


-- This database's identity, made once.
INSERT INTO "installation" ("id") VALUES (gen_random_uuid());
