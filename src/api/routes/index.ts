import type { RouteModule } from '../app.js';
import type { ApiDeps } from '../deps.js';
import { adminMeterRoutes } from './admin-meters.js';
import { adminRegisterRoutes } from './admin-register-meters.js';
import { ercRoutes } from './erc.js';
import { myReadingsRoutes } from './my-readings.js';
import { ocmfRoutes } from './ocmf.js';
import { readingRoutes } from './readings.js';
import { systemRoutes } from './system.js';
import { tokenRoutes } from './tokens.js';

/** Every route group of the API, in registration order; a new group is added here. */
export const ROUTE_GROUPS: ((deps: ApiDeps) => RouteModule)[] = [
  systemRoutes, readingRoutes, ocmfRoutes, tokenRoutes, ercRoutes, adminMeterRoutes, myReadingsRoutes, adminRegisterRoutes,
];

/** The routes of the whole API over one set of dependencies. */
export function apiRoutes(deps: ApiDeps): RouteModule[] {
  return ROUTE_GROUPS.map((group) => group(deps));
}
