/*
 * map.c - the outline map for points with coordinates (the partner-town
 * maps): country outlines drawn once as one SVG path, and points projected
 * onto the same plane.  No JavaScript and no tile server: the outlines are
 * Natural Earth's (public domain), clipped to a box by tools/map-outline.py
 * into core/web/map/europe.txt and compiled in as core_map_outline.
 *
 * Projection: equirectangular with the longitudes shrunk by the cosine of
 * the box's middle latitude, so that shapes near it keep their proportions
 * (Europe spans too little for the distortion of a plain equirectangular
 * map to matter more than the simplicity).  y grows southwards, as in SVG.
 *
 * The core knows nothing of partnerships: pages.c asks for a map when a
 * plugin's catalogue names the fields of its items that hold latitude,
 * longitude and a label ("map": {"lat": ..., "lon": ..., "label": ...}).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

extern const char core_map_outline[];

#define MAP_SCALE 10.0 /* viewBox units per degree of latitude */

static double west = -25, south = 34, east = 45, north = 72, kx;
static char *outline; /* the SVG path data, built once */
static size_t outline_len, outline_cap;

static int
map_add(const char *s)
{
	size_t n = strlen(s);
	if (outline_len + n + 1 > outline_cap) {
		size_t cap = outline_cap ? outline_cap * 2 : 16384;
		while (cap < outline_len + n + 1)
			cap *= 2;
		char *p = realloc(outline, cap);
		if (p == NULL)
			return PORTAL_ERROR;
		outline = p;
		outline_cap = cap;
	}
	memcpy(outline + outline_len, s, n + 1);
	outline_len += n;
	return PORTAL_OK;
}

static void
map_xy(double lat, double lon, double *x, double *y)
{
	*x = (lon - west) * kx;
	*y = (north - lat) * MAP_SCALE;
}

/* One ring ("lon lat lon lat ..." in hundredths of a degree) as "M x y l dx
 * dy ... z" in whole units: relative steps keep the path short, and points
 * that round onto the previous one are dropped. */
static int
map_ring(const char *line)
{
	char part[64];
	int n = 0, px = 0, py = 0, first = 1;
	size_t mark = outline_len;
	const char *p = line;
	for (;;) {
		char *end;
		long lon = strtol(p, &end, 10);
		if (end == p)
			break;
		p = end;
		long lat = strtol(p, &end, 10);
		if (end == p)
			return PORTAL_ERROR;
		p = end;
		double fx, fy;
		map_xy(lat / 100.0, lon / 100.0, &fx, &fy);
		int x = (int)lround(fx), y = (int)lround(fy);
		if (first)
			snprintf(part, sizeof(part), "M%d %d", x, y);
		else if (x == px && y == py)
			continue;
		else
			snprintf(part, sizeof(part), "%s%d%s%d", n == 1 ? "l" : x - px < 0 ? "" : " ", x - px,
			         y - py < 0 ? "" : " ", y - py);
		if (map_add(part) != PORTAL_OK)
			return PORTAL_ERROR;
		first = 0;
		px = x;
		py = y;
		n++;
	}
	if (n < 3) { /* smaller than a unit: an islet the map cannot show */
		outline_len = mark;
		if (outline)
			outline[mark] = '\0';
		return PORTAL_OK;
	}
	return map_add("z");
}

int
map_init(void)
{
	if (outline != NULL)
		return PORTAL_OK;
	const char *p = core_map_outline;
	kx = MAP_SCALE * cos((south + north) / 2 * M_PI / 180);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = strndup(p, len);
		if (line == NULL)
			return PORTAL_ERROR;
		int rc = PORTAL_OK;
		double w, s, e, n;
		if (line[0] == '#' || line[0] == '\0') {
			/* a comment */
		} else if (sscanf(line, "box %lf %lf %lf %lf", &w, &s, &e, &n) == 4) {
			west = w / 100;
			south = s / 100;
			east = e / 100;
			north = n / 100;
			kx = MAP_SCALE * cos((south + north) / 2 * M_PI / 180);
		} else {
			rc = map_ring(line);
		}
		free(line);
		if (rc != PORTAL_OK) {
			log_msg(PORTAL_LOG_ERR, NULL, "core/web/map/europe.txt: a ring is not \"lon lat ...\"");
			return PORTAL_ERROR;
		}
		p += len + (nl ? 1 : 0);
	}
	return map_add("");
}

const char *
map_outline(void)
{
	return outline ? outline : "";
}

void
map_size(double *width, double *height)
{
	*width = ceil((east - west) * kx);
	*height = ceil((north - south) * MAP_SCALE);
}

int
map_project(double lat, double lon, double *x, double *y)
{
	if (!(lat >= south && lat <= north && lon >= west && lon <= east))
		return 0;
	map_xy(lat, lon, x, y);
	return 1;
}
