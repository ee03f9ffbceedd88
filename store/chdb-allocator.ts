/**
 * Imported for its effect, before chDB loads: chDB's engine allocates with jemalloc, which ClickHouse tells
 * to keep freed pages for 5 s. Embedded in a process that merges parts as it ingests, that made peak RSS
 * depend on how long ingest ran: 796 MB after 1 M lines, 894 MB after 5 M. Handed back after 200 ms, the
 * peaks were 681–751 MB and 730–775 MB over five runs, for an ingest 5–10 % slower. A JE_MALLOC_CONF the
 * user sets wins.
 */
process.env.JE_MALLOC_CONF ??= 'dirty_decay_ms:200,muzzy_decay_ms:0';
