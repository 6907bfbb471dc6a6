<?php
// A partner's request as Switchere's PHP documentation signs it, with the
// trimmed base64 a shop plugin sends:
//   base64_encode(hash_hmac('sha512', hash('sha256', $path . $content, true), $secret, true))
// Usage: php partner_client.php BASE_URL API_KEY SECRET PATH JSON_BODY
// Prints the HTTP status on the first line and the body after it.
[$script, $base, $key, $secret, $path, $content] = $argv;
$signature = rtrim(base64_encode(hash_hmac('sha512', hash('sha256', $path . $content, true), $secret, true)), '=');
$context = stream_context_create(['http' => [
    'method' => 'POST',
    'header' => "Content-Type: application/json\r\nApi-Key: $key\r\nApi-Signature: $signature\r\n",
    'content' => $content,
    'ignore_errors' => true,
]]);
$body = file_get_contents($base . $path, false, $context);
preg_match('{HTTP/\S+ (\d{3})}', $http_response_header[0], $m);
echo $m[1], "\n", $body;
