/* Cryptocurrency miners: the most common payload of compromised and malicious images
 * (Kinsing, TeamTNT, Docker Hub images seeded with XMRig). */
rule Miner_XMRig_Config
{
    meta:
        description = "XMRig miner configuration (pools, donate-level)"
        severity = "critical"
        fix = "Do not run the image. Find the step that added the file (added by) and the base image or dependency it came from; rebuild from a trusted source."
        reference = "https://xmrig.com/docs/miner/config"
    strings:
        $pools = "\"pools\"" ascii
        $donate = "\"donate-level\"" ascii
        $algo = "\"algo\"" ascii
        $coin = "\"coin\"" ascii
        $url = "\"url\"" ascii
    condition:
        filesize < 1MB and $pools and $donate and $url and ($algo or $coin)
}

rule Miner_XMRig_Binary
{
    meta:
        description = "XMRig miner program"
        severity = "critical"
        fix = "Do not run the image. Find the step that added the file (added by) and the base image or dependency it came from; rebuild from a trusted source."
        reference = "https://github.com/xmrig/xmrig"
    strings:
        $a = "XMRig/%s" ascii
        $b = "xmrig.com" ascii
        $c = "--donate-level" ascii
        $d = "randomx" ascii nocase
        $e = "cryptonight" ascii nocase
        $f = "stratum+tcp://" ascii
    condition:
        (uint32(0) == 0x464c457f or uint16(0) == 0x5a4d) and 3 of them
}

rule Miner_Stratum_URL
{
    meta:
        description = "Mining pool address (stratum URL)"
        severity = "high"
        fix = "Find what connects to the pool: remove the file and the step that added it (added by); check the base image and dependencies."
        reference = "https://en.bitcoin.it/wiki/Stratum_mining_protocol"
        // the longest match of any string here, in bytes (see docs/scan-malware.md)
        max_match = 84
    strings:
        $s = /stratum\+(tcp|ssl|tls|udp):\/\/[a-z0-9.\-]{4,64}:[0-9]{2,5}/ nocase
    condition:
        $s
}
