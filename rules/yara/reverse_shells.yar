/* Reverse shells: a shell whose input and output are a network connection to the attacker,
 * the usual back door left in a container or a build script. */
rule ReverseShell_Bash_DevTcp
{
    meta:
        description = "Bash reverse shell over /dev/tcp"
        severity = "critical"
        fix = "Do not run the image. Remove the file, find the step that added it (added by) and how it got there."
        reference = "https://attack.mitre.org/techniques/T1059/004/"
        // the longest match of any string here, in bytes (see docs/scan-malware.md)
        max_match = 104
    strings:
        // an interactive shell wired to the socket; `exec 3<>/dev/tcp/localhost/80` alone is
        // a common health check, not this
        $a = /(bash|sh) -i[ ]{0,8}(>&|&>)[ ]{0,8}\/dev\/(tcp|udp)\/[^\/ ]{1,64}\/[0-9]{1,5}/
    condition:
        $a
}

rule ReverseShell_Netcat_Exec
{
    meta:
        description = "Netcat or socat handing a shell to a connection"
        severity = "critical"
        fix = "Do not run the image. Remove the file, find the step that added it (added by) and how it got there."
        reference = "https://attack.mitre.org/techniques/T1059/"
        // the longest match of any string here, in bytes (see docs/scan-malware.md)
        max_match = 183
    strings:
        $nc = /\b(nc|ncat|netcat)(\.[a-z]{1,8})? [^\n|;]{0,64}-(e|c) ?\/bin\/(ba)?sh/
        $fifo = /mkfifo [^\n;]{1,64}; ?(cat|tail -f) [^\n|]{1,64}\| ?\/bin\/(ba)?sh -i[^\n|]{0,16}\| ?(nc|ncat|netcat)/
        $socat = /socat [^\n]{0,64}exec:['"]?(\/bin\/)?(ba)?sh/ nocase
    condition:
        any of them
}

rule ReverseShell_Script_Socket
{
    meta:
        description = "Python or Perl reverse shell (socket duplicated onto a shell)"
        severity = "critical"
        fix = "Do not run the image. Remove the file, find the step that added it (added by) and how it got there."
        reference = "https://attack.mitre.org/techniques/T1059/006/"
        // the longest match of any string here, in bytes (see docs/scan-malware.md)
        max_match = 60
    strings:
        $py1 = "socket.socket(" ascii
        $py2 = /os\.dup2\([a-z_.()]{1,40}fileno\(\), ?[012]\)/
        $py3 = /(subprocess\.call|pty\.spawn|os\.system)\(\[?["']\/bin\/(ba)?sh/
        $pl1 = "use Socket;" ascii
        $pl2 = /open\(STD(IN|OUT|ERR), ?["']>&S["']\)/
        $pl3 = /exec\(["']\/bin\/(ba)?sh -i["']\)/
    condition:
        ($py1 and $py2 and $py3) or ($pl1 and $pl2 and $pl3)
}
