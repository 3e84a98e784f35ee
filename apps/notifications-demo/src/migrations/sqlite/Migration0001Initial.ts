import { Migration } from '@mikro-orm/migrations';

export class Migration0001Initial extends Migration {
  override name = 'Migration0001Initial';

  override up(): void | Promise<void> {
    this.addSql(
      `create table \`accounts_user\` (\`id\` integer not null primary key autoincrement, \`email\` text not null, \`name\` text not null, \`password_hash\` text not null, \`date_joined\` datetime not null, \`last_login\` datetime null);`,
    );
    this.addSql(
      `create unique index \`accounts_user_email_unique\` on \`accounts_user\` (\`email\`);`,
    );

    this.addSql(
      `create table \`accounts_session\` (\`id\` integer not null primary key autoincrement, \`key_hash\` text not null, \`user_id\` integer not null, \`created_at\` datetime not null, \`expires_at\` datetime not null, constraint \`accounts_session_user_id_foreign\` foreign key (\`user_id\`) references \`accounts_user\` (\`id\`) on delete cascade);`,
    );
    this.addSql(
      `create unique index \`accounts_session_key_hash_unique\` on \`accounts_session\` (\`key_hash\`);`,
    );
    this.addSql(
      `create index \`accounts_session_user_id_index\` on \`accounts_session\` (\`user_id\`);`,
    );
    this.addSql(
      `create index \`accounts_session_expires_at_index\` on \`accounts_session\` (\`expires_at\`);`,
    );

    this.addSql(
      `create table \`reports_report\` (\`id\` integer not null primary key autoincrement, \`owner_id\` integer not null, \`title\` text not null, \`data\` json not null, \`status\` text check (\`status\` in ('pending', 'completed', 'failed')) not null default 'pending', \`file\` text null, \`attempts\` integer not null default 0, \`error\` text null, \`created_at\` datetime not null, \`completed_at\` datetime null, constraint \`reports_report_owner_id_foreign\` foreign key (\`owner_id\`) references \`accounts_user\` (\`id\`) on delete cascade);`,
    );
    this.addSql(
      `create index \`reports_report_owner_id_index\` on \`reports_report\` (\`owner_id\`);`,
    );
    this.addSql(`create index \`reports_report_status_index\` on \`reports_report\` (\`status\`);`);
  }

  override down(): void | Promise<void> {
    this.addSql('drop table if exists `reports_report`;');
    this.addSql('drop table if exists `accounts_session`;');
    this.addSql('drop table if exists `accounts_user`;');
  }
}
