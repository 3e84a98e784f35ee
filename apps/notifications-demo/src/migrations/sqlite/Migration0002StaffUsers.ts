import { Migration } from '@mikro-orm/migrations';

/** Staff users (Django's `is_staff`): who may open the task dashboard and `/metrics`. */
export class Migration0002StaffUsers extends Migration {
  override name = 'Migration0002StaffUsers';

  override up(): void | Promise<void> {
    this.addSql(
      'alter table `accounts_user` add column `is_staff` integer not null default false;',
    );
  }

  override down(): void | Promise<void> {
    this.addSql('alter table `accounts_user` drop column `is_staff`;');
  }
}
