<?php
// A partner's callback endpoint as a PHP shop plugin writes it: compute the
// padded base64 form and compare the header as a plain string with `!=`.
// Run with `php -S 127.0.0.1:PORT partner_callback.php`; SECRET_FILE and
// LOG_FILE come from the environment. Every request is logged as one JSON
// line; a signature that does not match is answered 401, unless ACCEPT_ALL
// is set (a receiver that checks another way, e.g. Perl's unpadded form).
$secret = trim(file_get_contents(getenv('SECRET_FILE')));
$content = file_get_contents('php://input');
$header = $_SERVER['HTTP_API_SIGNATURE'] ?? '';
$expected = base64_encode(hash_hmac('sha512', hash('sha256', $content, true), $secret, true));
$valid = !($header != $expected);
file_put_contents(getenv('LOG_FILE'), json_encode([
    'valid' => $valid,
    'signature' => $header,
    'raw' => $content,
    'content_type' => $_SERVER['CONTENT_TYPE'] ?? null,
]) . "\n", FILE_APPEND | LOCK_EX);
$accept = $valid || getenv('ACCEPT_ALL') === '1';
http_response_code($accept ? 200 : 401);
echo $accept ? 'ok' : 'bad signature';
