<?php
// bench/php_list.php - the PHP-FPM + PDO reference of `make bench` (bench/run.sh):
// GET /bench/php/list?limit=N answers the partnerships list of one
// municipality from the portal's own MariaDB tables the way a typical PHP
// endpoint would: one prepared PDO statement (PDO's defaults: emulated
// prepares, so one round trip), a persistent connection per FPM child (as
// portald keeps one per worker), the rows turned into arrays (JSON columns
// decoded) and json_encode.  The same rows in the same order and the same
// fields as the portal's list, agreements included (the page of items joined
// with their agreements in the same statement, grouped here); not
// byte-identical (no "documents", no cursor of the same form, PHP's own
// number and escape formatting).  The database settings come
// from FastCGI parameters set in the bench's nginx location (BENCH_DB_*).
$muni = $_SERVER['BENCH_MUNI'];
$limit = max(1, min(100, (int)($_GET['limit'] ?? 20)));
$pdo = new PDO('mysql:unix_socket=' . $_SERVER['BENCH_DB_SOCKET'] . ';dbname=' . $_SERVER['BENCH_DB_NAME']
               . ';charset=utf8mb4', $_SERVER['BENCH_DB_USER'], $_SERVER['BENCH_DB_PASSWORD'],
               [PDO::ATTR_PERSISTENT => true, PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
$st = $pdo->prepare(
    "SELECT t.*, a.date AS a_date, a.kind AS a_kind, a.title AS a_title,
            a.signatories AS a_signatories, a.unit AS a_unit, a.document_url AS a_document_url
       FROM (SELECT id, municipality, partner_name, other_names, country, region, wikidata, lat, lon,
                    website, kind, status, start_date, end_date, end_reason, areas, description,
                    sources, uid, DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%sZ') AS created,
                    DATE_FORMAT(updated_at, '%Y-%m-%dT%H:%i:%sZ') AS updated, version, sort_name
               FROM partnerships WHERE municipality = ? ORDER BY sort_name, id LIMIT ?) t
       LEFT JOIN partnership_agreements a ON a.partnership_id = t.id
      ORDER BY t.sort_name, t.id, a.position");
$st->bindValue(1, $muni);
$st->bindValue(2, $limit + 1, PDO::PARAM_INT);
$st->execute();
$items = [];
$sort = [];
$next = null;
while ($row = $st->fetch(PDO::FETCH_ASSOC)) {
    $id = (int)$row['id'];
    if (!isset($items[$id])) {
        if (count($items) === $limit) {
            $last = array_key_last($items);
            $next = rtrim(strtr(base64_encode($sort[$last] . "\n" . $last), '+/', '-_'), '=');
            break;
        }
        $sort[$id] = $row['sort_name'];
        $items[$id] = [
            'id' => $id,
            'municipality' => $row['municipality'],
            'partner' => [
                'name' => $row['partner_name'],
                'other_names' => json_decode($row['other_names'] ?? '[]', true),
                'country' => $row['country'],
                'region' => $row['region'],
                'wikidata' => $row['wikidata'],
                'lat' => $row['lat'] === null ? null : (float)$row['lat'],
                'lon' => $row['lon'] === null ? null : (float)$row['lon'],
                'website' => $row['website'],
            ],
            'kind' => $row['kind'],
            'status' => $row['status'],
            'start_date' => $row['start_date'],
            'end_date' => $row['end_date'],
            'end_reason' => $row['end_reason'],
            'areas' => json_decode($row['areas'] ?? '[]', true),
            'description' => json_decode($row['description'] ?? '{}', true),
            'agreements' => [],
            'sources' => json_decode($row['sources'] ?? '[]', true),
            'uid' => $row['uid'],
            'created_at' => $row['created'],
            'updated_at' => $row['updated'],
            'version' => (int)$row['version'],
        ];
    }
    if ($row['a_kind'] !== null)
        $items[$id]['agreements'][] = [
            'date' => $row['a_date'],
            'kind' => $row['a_kind'],
            'title' => $row['a_title'],
            'signatories' => json_decode($row['a_signatories'] ?? '[]', true),
            'unit' => $row['a_unit'],
            'document_url' => $row['a_document_url'],
        ];
}
$st->closeCursor();
header('Content-Type: application/json');
header('X-Content-Type-Options: nosniff');
header('Cache-Control: no-cache');
echo json_encode(['items' => array_values($items), 'next' => $next],
                 JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES);
