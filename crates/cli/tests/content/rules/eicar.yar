rule EICAR_Test_File : test av
{
    meta:
        description = "The EICAR anti-virus test file"
        reference = "https://www.eicar.org/download-anti-malware-testfile/"
    strings:
        $s = "EICAR-STANDARD-ANTIVIRUS-TEST-FILE"
    condition:
        // The file starts with the 28 bytes X5O!P%@AP[4\PZX54(P^)7CC)7}$
        $s at 28
}
