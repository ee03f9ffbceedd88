/** Opens the store the configuration names: a ClickHouse server when a URL is set, embedded chDB otherwise. */
import type { Config } from '../schemas/config.js';
import { ChdbStore } from './chdb-store.js';
import { openServerStore } from './server-store.js';
import type { Store } from './store.js';

export async function openStore(config: Pick<Config, 'data' | 'clickhouse' | 'ttlDays'>): Promise<Store> {
  if (config.clickhouse) {
    return openServerStore({
      url: config.clickhouse.url,
      username: config.clickhouse.username,
      password: config.clickhouse.password,
      database: config.clickhouse.database,
      readUsername: config.clickhouse.readUsername,
      readPassword: config.clickhouse.readPassword,
      ttlDays: config.ttlDays,
      cluster: config.clickhouse.cluster
        ? {
            name: config.clickhouse.cluster,
            replicaPath: config.clickhouse.replicaPath,
            replicaName: config.clickhouse.replicaName,
          }
        : undefined,
    });
  }
  return ChdbStore.open(config.data, { ttlDays: config.ttlDays });
}
