// Prints the DDL MikroORM derives from the entities; used to write and check migrations.
import { openDatabase } from '../src/persistence/orm.js';
const db = await openDatabase({ databaseUrl: process.env.DATABASE_URL });
console.log(await db.orm.schema.getCreateSchemaSQL({ wrap: false }));
await db.close();
