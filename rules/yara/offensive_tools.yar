/* Tools that have no business in a production image: container-escape kits and credential
 * dumpers. Matched on strings the tools print or embed, not on file names (renaming is free). */
rule Tool_Container_Escape_Kit
{
    meta:
        description = "Container escape / breakout toolkit (CDK, DEEPCE, BOtB)"
        severity = "high"
        fix = "Remove the tool and find the step that added it (added by). If nobody on the team put it there, treat the image as compromised."
        reference = "https://github.com/cdk-team/CDK"
    strings:
        $cdk1 = "github.com/cdk-team/CDK" ascii
        $cdk2 = "cdk evaluate" ascii
        $deepce1 = "DEEPCE" ascii
        $deepce2 = "Docker Enumeration, Escalation of Privileges and Container Escapes" ascii
        $botb1 = "github.com/brompwnie/botb" ascii
        $botb2 = "Break out the Box" ascii
    condition:
        ($cdk1 and $cdk2) or ($deepce1 and $deepce2) or any of ($botb*)
}

rule Tool_Credential_Dumper
{
    meta:
        description = "Credential dumping tool (mimikatz, mimipenguin, LaZagne)"
        severity = "high"
        fix = "Remove the tool and find the step that added it (added by). If nobody on the team put it there, treat the image as compromised and rotate what it could reach."
        reference = "https://attack.mitre.org/techniques/T1003/"
    strings:
        $mk1 = "sekurlsa::logonpasswords" ascii wide nocase
        $mk2 = "gentilkiwi" ascii wide
        $mp1 = "mimipenguin" ascii
        $mp2 = "gnome-keyring-daemon" ascii
        $lz1 = "lazagne" ascii nocase
        $lz2 = "softwares.sysadmin" ascii
    condition:
        any of ($mk*) or ($mp1 and $mp2) or ($lz1 and $lz2)
}

rule Tool_Cryptojacking_Campaign
{
    meta:
        description = "Script of a container cryptojacking campaign (Kinsing, TeamTNT)"
        severity = "critical"
        fix = "Do not run the image. Find the step that added the file (added by); rebuild from a trusted base and rotate credentials the build could reach."
        reference = "https://attack.mitre.org/software/S0599/"
        // the longest match of any string here, in bytes (see docs/scan-malware.md)
        max_match = 59
    strings:
        $k1 = "kinsing" ascii nocase
        $k2 = "kdevtmpfsi" ascii
        $t1 = "TeamTNT" ascii nocase
        $t2 = "/tmp/.xmr" ascii
        $kill = /pkill -f [^\n]{0,40}(xmrig|kdevtmpfsi|kinsing)/
    condition:
        ($k1 and $k2) or ($t1 and ($t2 or $kill)) or ($kill and $k2)
}
