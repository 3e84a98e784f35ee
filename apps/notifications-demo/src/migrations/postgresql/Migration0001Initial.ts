import { Migration } from '@mikro-orm/migrations';

export class Migration0001Initial extends Migration {
  override name = 'Migration0001Initial';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "accounts_user" ("id" serial primary key, "email" varchar(254) not null, "name" varchar(150) not null, "password_hash" varchar(255) not null, "date_joined" timestamptz not null, "last_login" timestamptz null);`,
    );
    this.addSql(
      `alter table "accounts_user" add constraint "accounts_user_email_unique" unique ("email");`,
    );

    this.addSql(
      `create table "accounts_session" ("id" serial primary key, "key_hash" varchar(64) not null, "user_id" int not null, "created_at" timestamptz not null, "expires_at" timestamptz not null);`,
    );
    this.addSql(
      `alter table "accounts_session" add constraint "accounts_session_key_hash_unique" unique ("key_hash");`,
    );
    this.addSql(`create index "accounts_session_user_id_index" on "accounts_session" ("user_id");`);
    this.addSql(
      `create index "accounts_session_expires_at_index" on "accounts_session" ("expires_at");`,
    );

    this.addSql(
      `create table "reports_report" ("id" serial primary key, "owner_id" int not null, "title" varchar(120) not null, "data" jsonb not null, "status" text not null default 'pending', "file" varchar(255) null, "attempts" int not null default 0, "error" text null, "created_at" timestamptz not null, "completed_at" timestamptz null);`,
    );
    this.addSql(`create index "reports_report_owner_id_index" on "reports_report" ("owner_id");`);
    this.addSql(`create index "reports_report_status_index" on "reports_report" ("status");`);
    this.addSql(
      `alter table "reports_report" add constraint "reports_report_status_check" check ("status" in ('pending', 'completed', 'failed'));`,
    );

    this.addSql(
      `alter table "accounts_session" add constraint "accounts_session_user_id_foreign" foreign key ("user_id") references "accounts_user" ("id") on delete cascade;`,
    );

    this.addSql(
      `alter table "reports_report" add constraint "reports_report_owner_id_foreign" foreign key ("owner_id") references "accounts_user" ("id") on delete cascade;`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "reports_report";`);
    this.addSql(`drop table if exists "accounts_session";`);
    this.addSql(`drop table if exists "accounts_user";`);
  }
}
