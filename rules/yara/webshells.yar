/* Web shells: a page that runs what a request tells it to, left in a web root. */
rule WebShell_PHP_Eval_Request
{
    meta:
        description = "PHP web shell (request input run by eval/system/assert)"
        severity = "critical"
        fix = "Remove the file, find the step that added it (added by); check the web root for others and the application for the way it was written."
        reference = "https://attack.mitre.org/techniques/T1505/003/"
    strings:
        $php = "<?php" ascii nocase
        $short = "<?=" ascii
        $x = /(eval|assert|system|passthru|shell_exec|exec|popen|proc_open)[ \t]*\([ \t]*(base64_decode|gzinflate|str_rot13|stripslashes)?[ \t]*\(?[ \t]*\$_(GET|POST|REQUEST|COOKIE|SERVER\[['"]HTTP_)/ nocase
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
    strings:
        $x = /Runtime\.getRuntime\(\)\.exec\([ \t]*request\.getParameter\(/
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
    strings:
        $x = /eval\(Request(\.Item)?\[/ nocase
        $y = /Process\.Start\([^)]{0,40}Request(\.Form|\.QueryString)?\[/ nocase
    condition:
        any of them
}
