/* Web shells: a page that runs what a request tells it to, left in a web root. */
rule WebShell_PHP_Eval_Request
{
    meta:
        description = "PHP web shell (request input run by eval/system/assert)"
        severity = "critical"
        fix = "Remove the file, find the step that added it (added by); check the web root for others and the application for the way it was written."
        reference = "https://attack.mitre.org/techniques/T1505/003/"
        // the longest match of any string here, in bytes (see docs/scan-malware.md)
        max_match = 104
    strings:
        $php = "<?php" ascii nocase
        $short = "<?=" ascii
        // PHP function names are case-insensitive, its superglobals are not: the classes keep
        // EvAl() matched while YARA takes its atoms from the rare `$_GET`-like tail
        $x = /([eE][vV][aA][lL]|[aA][sS][sS][eE][rR][tT]|[sS][yY][sS][tT][eE][mM]|[pP][aA][sS][sS][tT][hH][rR][uU]|[sS][hH][eE][lL][lL]_[eE][xX][eE][cC]|[eE][xX][eE][cC]|[pP][oO][pP][eE][nN]|[pP][rR][oO][cC]_[oO][pP][eE][nN])[ \t]{0,16}\([ \t]{0,16}([bB][aA][sS][eE]64_[dD][eE][cC][oO][dD][eE]|[gG][zZ][iI][nN][fF][lL][aA][tT][eE]|[sS][tT][rR]_[rR][oO][tT]13|[sS][tT][rR][iI][pP][sS][lL][aA][sS][hH][eE][sS])?[ \t]{0,16}\(?[ \t]{0,16}(\$_GET|\$_POST|\$_REQUEST|\$_COOKIE|\$_SERVER\[['"]HTTP_)/
    condition:
        ($php or $short) and $x
}

rule WebShell_JSP_Runtime_Exec
{
    meta:
        description = "JSP web shell (request parameter run by Runtime.exec)"
        severity = "critical"
        fix = "Remove the file, find the step that added it (added by); check the web root for others and the application for the way it was written."
        reference = "https://attack.mitre.org/techniques/T1505/003/"
        // the longest match of any string here, in bytes (see docs/scan-malware.md)
        max_match = 63
    strings:
        $x = /Runtime\.getRuntime\(\)\.exec\([ \t]{0,16}request\.getParameter\(/
    condition:
        $x
}

rule WebShell_ASPX_Eval_Request
{
    meta:
        description = "ASP.NET web shell (request input evaluated)"
        severity = "critical"
        fix = "Remove the file, find the step that added it (added by); check the web root for others and the application for the way it was written."
        reference = "https://attack.mitre.org/techniques/T1505/003/"
        // the longest match of any string here, in bytes (see docs/scan-malware.md)
        max_match = 74
    strings:
        $x = /eval\(Request(\.Item)?\[/ nocase
        $y = /Process\.Start\([^)]{0,40}Request(\.Form|\.QueryString)?\[/ nocase
    condition:
        any of them
}
