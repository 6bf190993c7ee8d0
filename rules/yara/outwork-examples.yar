// Example YARA rules for outwork (`[inspect] yara_rules = "rules/yara"`).
// They show the shape outwork expects (a `score` in meta sets the symbol's
// weight) and serve as the benchmark's rule set. They are deliberately
// generic: write rules for what your own mail flow sees.

rule Script_Downloader_Cradle : dropper {
  meta:
    description = "A script that downloads and runs code (PowerShell/certutil/bitsadmin/mshta cradles)"
    score = 6
  strings:
    $ps1 = "powershell" nocase
    $ps2 = "-enc" nocase
    $ps3 = "downloadstring" nocase
    $ps4 = "invoke-webrequest" nocase
    $ps5 = "iex(" nocase
    $cu = "certutil -urlcache" nocase
    $ba = "bitsadmin /transfer" nocase
    $mh = /mshta(\.exe)?\s+https?:\/\//i
  condition:
    ($ps1 and any of ($ps2, $ps3, $ps4, $ps5)) or $cu or $ba or $mh
}

rule Html_Smuggling_Blob : smuggling {
  meta:
    description = "An HTML page that assembles a file in the browser and saves it"
    score = 5
  strings:
    $b1 = "new Blob(" nocase
    $b2 = "msSaveOrOpenBlob" nocase
    $b3 = "createObjectURL" nocase
    $d = ".download" nocase
    $a = "atob(" nocase
  condition:
    $a and ($b1 or $b2) and ($b3 or $d)
}

rule Credential_Page_Posts_Away : phishing {
  meta:
    description = "A local HTML page with a password field that posts elsewhere"
    score = 4
  strings:
    $pw = /type\s*=\s*["']?password/ nocase
    $act = /action\s*=\s*["']?https?:\/\//i
    $fetch = /fetch\(\s*["']https?:\/\//i
  condition:
    $pw and ($act or $fetch)
}

rule Office_Autorun_Shell : macro {
  meta:
    description = "VBA source that runs on open and starts a shell"
    score = 6
  strings:
    $o1 = "AutoOpen" nocase
    $o2 = "Document_Open" nocase
    $o3 = "Workbook_Open" nocase
    $s1 = "WScript.Shell" nocase
    $s2 = "Shell(" nocase
    $s3 = "CreateObject(" nocase
  condition:
    any of ($o*) and any of ($s*)
}

rule PE_In_Attachment : executable {
  meta:
    description = "A Windows executable (MZ header with a PE signature)"
    score = 4
  condition:
    uint16(0) == 0x5A4D and uint32(uint32(0x3C)) == 0x00004550
}

rule Lnk_Runs_Interpreter : shortcut {
  meta:
    description = "A Windows shortcut that starts a script interpreter"
    score = 5
  strings:
    $i1 = "cmd.exe" nocase wide ascii
    $i2 = "powershell" nocase wide ascii
    $i3 = "mshta" nocase wide ascii
    $i4 = "wscript" nocase wide ascii
  condition:
    uint32(0) == 0x0000004C and any of them
}

rule Pdf_Launch_Or_Js : pdf {
  meta:
    description = "A PDF that launches a program or runs JavaScript on open"
    score = 3
  strings:
    $l = "/Launch"
    $j = "/JavaScript"
    $o = "/OpenAction"
  condition:
    uint32(0) == 0x46445025 and $o and ($l or $j)
}

rule Base64_PE_In_Text {
  meta:
    description = "A base64-encoded Windows executable inside a text file or script"
    score = 5
  strings:
    $mz = "TVqQAAMAAAAEAAAA"
  condition:
    $mz
}
