/** Preloaded into a measured child (`node --import`): writes its peak RSS in KiB to $EGRESSLENS_RSS_FILE at exit. */
import { writeFileSync } from 'node:fs';

const file = process.env.EGRESSLENS_RSS_FILE;
if (file) {
  process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS)));
}
