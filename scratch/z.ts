import { buildZoneTable } from '../src/training/zone-table.js';
import { CENTROIDS_PATH } from '../src/training/zone-geometry.js';
import { ZONE_LOOKUP_PATH } from '../src/training/zone-table.js';
const t = buildZoneTable(ZONE_LOOKUP_PATH, CENTROIDS_PATH);
console.log(t.length, t[0], t[131], t[263], t[264], t.filter(z=>z.lon===null).map(z=>z.id));
