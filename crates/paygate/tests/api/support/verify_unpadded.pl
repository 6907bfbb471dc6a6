#!/usr/bin/perl
# Verifies partner callbacks as Switchere's Perl documentation does:
# hmac_sha512_base64(sha256(content), secret) gives the unpadded form, which
# must equal the API-Signature header byte for byte.
# Usage: verify_unpadded.pl SECRET_FILE < lines of "signature<TAB>body-as-hex"
use strict;
use warnings;
use Digest::SHA qw(sha256 hmac_sha512_base64);
open(my $fh, '<', $ARGV[0]) or die "secret: $!";
my $secret = <$fh>;
chomp $secret;
my ($good, $bad) = (0, 0);
while (my $line = <STDIN>) {
    chomp $line;
    my ($signature, $hex) = split /\t/, $line;
    my $content = pack('H*', $hex);
    if (hmac_sha512_base64(sha256($content), $secret) eq $signature) { $good++ } else { $bad++ }
}
print "good=$good bad=$bad\n";
