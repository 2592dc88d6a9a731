/* The EICAR anti-malware test file (https://www.eicar.org/download-anti-malware-testfile/):
 * harmless by design, used to check that a scanner is wired in. Written in hex so that this
 * rule file itself is not taken for the test file by other scanners. */
rule EICAR_Test_File
{
    meta:
        description = "EICAR anti-malware test file"
        severity = "medium"
        fix = "Remove the file; if it is there to test a scanner, keep it out of images that ship."
        reference = "https://www.eicar.org/download-anti-malware-testfile/"
        // the longest match of any string here, in bytes (see docs/scan-malware.md)
        max_match = 70
    strings:
        $eicar = { 58 35 4F 21 50 25 40 41 50 5B 34 5C 50 5A 58 35 34 28 50 5E 29 37 43 43 29 37
                   7D 24 45 49 43 41 52 2D 53 54 41 4E 44 41 52 44 2D 41 4E 54 49 56 49 52 55 53
                   2D 54 45 53 54 2D 46 49 4C 45 21 24 48 2B 48 2A }
    condition:
        // the file is the test string, optionally followed by blanks (EICAR's own definition):
        // a document quoting it is not the test file
        $eicar at 0 and filesize <= 128
}
