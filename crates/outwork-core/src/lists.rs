//! Bundled reference lists. Each can be extended from config
//! (`[lists]` in outwork.toml); the bundled entries are the floor.

/// URL shorteners: the real target is hidden until clicked.
pub const SHORTENERS: &[&str] = &[
    "bit.ly",
    "bitly.com",
    "tinyurl.com",
    "t.co",
    "goo.gl",
    "ow.ly",
    "is.gd",
    "buff.ly",
    "rebrand.ly",
    "cutt.ly",
    "shorturl.at",
    "rb.gy",
    "t.ly",
    "tiny.cc",
    "bit.do",
    "s.id",
    "v.gd",
    "qrco.de",
    "tiny.one",
    "shorte.st",
    "adf.ly",
    "bl.ink",
    "short.io",
    "snip.ly",
    "lnkd.in",
    "x.gd",
    "urlz.fr",
    "soo.gd",
    "clck.ru",
    "u.to",
    "trib.al",
    "tr.im",
    "1url.com",
    "2u.pw",
    "shrtco.de",
    "gg.gg",
    "kutt.it",
    "t2m.io",
    "urlr.me",
    "tinu.be",
    "shorturl.gg",
    "surl.li",
    "han.gl",
    "me2.kr",
    "ln.run",
    "is.gd",
    "yourls.org",
    "linktr.ee",
    "l.ead.me",
    "did.li",
    "bitly.ws",
    "tny.im",
    "cli.re",
    "zpr.io",
    "rotf.lol",
    "qr.link",
    "qr.net",
];

/// Free web hosting, site builders and cloud storage buckets: anyone can
/// publish a page under these names within minutes.
pub const FREE_HOSTING: &[&str] = &[
    "000webhostapp.com",
    "weebly.com",
    "weeblysite.com",
    "wixsite.com",
    "wix.com",
    "firebaseapp.com",
    "web.app",
    "github.io",
    "glitch.me",
    "netlify.app",
    "vercel.app",
    "pages.dev",
    "workers.dev",
    "herokuapp.com",
    "blogspot.com",
    "storage.googleapis.com",
    "r2.dev",
    "azurewebsites.net",
    "web.core.windows.net",
    "blob.core.windows.net",
    "appspot.com",
    "repl.co",
    "replit.app",
    "replit.dev",
    "square.site",
    "godaddysites.com",
    "webflow.io",
    "yolasite.com",
    "jimdosite.com",
    "mystrikingly.com",
    "carrd.co",
    "notion.site",
    "surge.sh",
    "onrender.com",
    "fly.dev",
    "amplifyapp.com",
    "s3.amazonaws.com",
    "digitaloceanspaces.com",
    "translate.goog",
    "framer.app",
    "framer.website",
    "wordpress.com",
    "sites.google.com",
    "ukit.me",
    "tilda.ws",
    "webwave.dev",
    "site123.me",
    "mybluehost.me",
    "byethost.com",
    "epizy.com",
    "infinityfreeapp.com",
    "rf.gd",
    "wcomhost.com",
    "firebasestorage.googleapis.com",
    "myshopify.com",
    "sharepoint-df.com",
    "gitbook.io",
    "codeanyapp.com",
    "backblazeb2.com",
    "cprapid.com",
    "webcindario.com",
    "mozello.com",
    "lovable.app",
    "bolt.host",
];

/// Form and survey builders: credential harvesting without a web server.
pub const FORM_SERVICES: &[&str] = &[
    "forms.gle",
    "docs.google.com/forms",
    "forms.office.com",
    "forms.microsoft.com",
    "typeform.com",
    "jotform.com",
    "jotform.me",
    "formspree.io",
    "wufoo.com",
    "123formbuilder.com",
    "formsite.com",
    "forms.zohopublic.com",
    "cognitoforms.com",
    "getform.io",
    "formcarry.com",
    "basin.usebasin.com",
    "paperform.co",
    "tally.so",
    "form.jotform.com",
    "formstack.com",
    "hsforms.com",
    "smartsheet.com/b/form",
];

/// Developer tunnels and IPFS gateways: throwaway endpoints attackers use to
/// serve kits from a laptop or from content-addressed storage.
pub const TUNNELS: &[&str] = &[
    "ngrok.io",
    "ngrok-free.app",
    "ngrok.app",
    "ngrok-free.dev",
    "trycloudflare.com",
    "loca.lt",
    "localtunnel.me",
    "serveo.net",
    "pagekite.me",
    "localhost.run",
    "lhr.life",
    "devtunnels.ms",
    "gitpod.io",
    "csb.app",
    "telebit.io",
    "localxpose.io",
    "loclx.io",
    "pinggy.io",
    "pinggy.link",
    "bore.pub",
    "tunnelmole.net",
    "zrok.io",
];

pub const IPFS_GATEWAYS: &[&str] = &[
    "ipfs.io",
    "dweb.link",
    "cloudflare-ipfs.com",
    "gateway.pinata.cloud",
    "mypinata.cloud",
    "w3s.link",
    "nftstorage.link",
    "fleek.co",
    "4everland.io",
    "infura-ipfs.io",
    "ipfs.fleek.co",
    "ipfs.w3s.link",
    "gateway.ipfs.io",
    "storry.tv",
    "ipfs.eth.aragon.network",
    "ipfs.runfission.com",
    "hub.textile.io",
    "crustwebsites.net",
    "4everland.link",
];

/// Free mailbox providers: anyone can register an address.
pub const FREEMAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.co.uk",
    "yahoo.fr",
    "yahoo.de",
    "yahoo.co.jp",
    "yahoo.com.br",
    "ymail.com",
    "rocketmail.com",
    "hotmail.com",
    "hotmail.co.uk",
    "hotmail.fr",
    "hotmail.de",
    "hotmail.it",
    "outlook.com",
    "outlook.fr",
    "live.com",
    "live.co.uk",
    "live.fr",
    "msn.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "mail.ru",
    "inbox.ru",
    "list.ru",
    "bk.ru",
    "yandex.ru",
    "yandex.com",
    "ya.ru",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "gmx.at",
    "web.de",
    "protonmail.com",
    "proton.me",
    "pm.me",
    "zoho.com",
    "zohomail.com",
    "qq.com",
    "163.com",
    "126.com",
    "sina.com",
    "naver.com",
    "daum.net",
    "hanmail.net",
    "tutanota.com",
    "tuta.io",
    "mail.com",
    "email.com",
    "usa.com",
    "rediffmail.com",
    "seznam.cz",
    "wp.pl",
    "o2.pl",
    "onet.pl",
    "interia.pl",
    "libero.it",
    "virgilio.it",
    "laposte.net",
    "orange.fr",
    "free.fr",
    "t-online.de",
    "freenet.de",
    "rambler.ru",
    "cock.li",
    "fastmail.com",
    "hushmail.com",
    "mailfence.com",
    "aim.com",
    "juno.com",
    "netzero.net",
    "earthlink.net",
    "comcast.net",
    "att.net",
    "sbcglobal.net",
    "verizon.net",
    "btinternet.com",
    "sky.com",
    "shaw.ca",
    "rogers.com",
    "bigpond.com",
    "optusnet.com.au",
    "yahoo.ca",
    "yahoo.in",
    "yahoo.es",
    "yahoo.it",
    "outlook.es",
    "hotmail.es",
    "terra.com.br",
    "uol.com.br",
    "bol.com.br",
    "163.net",
    "yeah.net",
    "foxmail.com",
    "139.com",
    "sohu.com",
    "tom.com",
    "mail2world.com",
    "inbox.lv",
    "abv.bg",
    "mail.bg",
    "ukr.net",
    "i.ua",
    "meta.ua",
    "gmx.fr",
    "gmx.co.uk",
    "onmail.com",
    "skiff.com",
    "duck.com",
    "hey.com",
    "mailbox.org",
    "posteo.de",
];

/// Top-level domains that abuse reports (Spamhaus, Interisle) rank as the
/// most abused relative to their size. Low weight: cheap names, not proof.
pub const ABUSED_TLDS: &[&str] = &[
    "xyz",
    "top",
    "club",
    "online",
    "site",
    "icu",
    "buzz",
    "cyou",
    "rest",
    "monster",
    "cfd",
    "sbs",
    "bond",
    "click",
    "link",
    "shop",
    "store",
    "tk",
    "ml",
    "ga",
    "cf",
    "gq",
    "work",
    "fit",
    "loan",
    "country",
    "kim",
    "gdn",
    "men",
    "date",
    "racing",
    "win",
    "review",
    "stream",
    "download",
    "zip",
    "mov",
    "quest",
    "lol",
    "cam",
    "beauty",
    "hair",
    "makeup",
    "skin",
    "autos",
    "boats",
    "yachts",
    "homes",
    "motorcycles",
    "pics",
    "space",
    "fun",
    "website",
    "tech",
    "live",
    "life",
    "digital",
    "support",
    "help",
    "services",
    "vip",
    "su",
    "pw",
    "cn",
    "ru",
    "best",
    "uno",
    "surf",
    "today",
    "world",
    "asia",
    "ink",
];

/// File extensions that execute code or mount a disk image when opened.
pub const DANGEROUS_EXTENSIONS: &[&str] = &[
    "exe",
    "scr",
    "com",
    "pif",
    "bat",
    "cmd",
    "vbs",
    "vbe",
    "js",
    "jse",
    "wsf",
    "wsh",
    "hta",
    "msi",
    "msp",
    "msc",
    "cpl",
    "jar",
    "ps1",
    "psm1",
    "psd1",
    "lnk",
    "iso",
    "img",
    "vhd",
    "vhdx",
    "reg",
    "dll",
    "scf",
    "inf",
    "application",
    "appref-ms",
    "chm",
    "xll",
    "library-ms",
    "search-ms",
    "settingcontent-ms",
    "gadget",
    "msix",
    "appx",
    "appxbundle",
    "msixbundle",
    "ws",
    "sct",
    "wsc",
    "url",
    "slk",
    "iqy",
    "xlam",
    "ppam",
    "docm",
    "xlsm",
    "pptm",
    "dotm",
    "xltm",
    "potm",
    "ppsm",
    "sldm",
    "diagcab",
    "mht",
    "mhtml",
    "cab",
];

/// Extensions that render as a web page: a local page can post credentials
/// anywhere and escapes URL filters.
pub const HTML_EXTENSIONS: &[&str] = &[
    "htm", "html", "shtml", "shtm", "xhtml", "svg", "svgz", "mht", "mhtml",
];

/// Document-looking extensions used as the decoy first half of `x.pdf.exe`.
pub const DECOY_EXTENSIONS: &[&str] = &[
    "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "txt", "rtf", "jpg", "jpeg", "png", "gif",
    "csv", "odt", "zip", "rar", "mp3", "mp4", "wav", "html", "htm", "eml", "msg",
];

/// A brand that phishing impersonates: its names and the domains it really
/// sends from and links to.
pub struct Brand {
    pub name: &'static str,
    /// Words that name the brand in display names and host labels, lower-case.
    pub keywords: &'static [&'static str],
    /// Registrable domains the brand owns.
    pub domains: &'static [&'static str],
}

macro_rules! brand {
    ($name:expr, [$($k:expr),*], [$($d:expr),*]) => {
        Brand { name: $name, keywords: &[$($k),*], domains: &[$($d),*] }
    };
}

/// The most impersonated brands (from public phishing-brand reports:
/// APWG, Check Point, Vade yearly rankings).
pub const BRANDS: &[Brand] = &[
    brand!(
        "PayPal",
        ["paypal"],
        [
            "paypal.com",
            "paypal.me",
            "paypalobjects.com",
            "paypal-communication.com",
            "paypal.co.uk",
            "paypal.de",
            "paypal.fr",
            "xoom.com",
            "braintreegateway.com",
            "venmo.com"
        ]
    ),
    brand!(
        "Microsoft",
        [
            "microsoft",
            "office365",
            "office 365",
            "microsoft 365",
            "onedrive",
            "sharepoint",
            "outlook",
            "hotmail",
            "microsoftonline"
        ],
        [
            "microsoft.com",
            "microsoftonline.com",
            "office.com",
            "office365.com",
            "outlook.com",
            "live.com",
            "hotmail.com",
            "sharepoint.com",
            "onmicrosoft.com",
            "microsoft365.com",
            "onedrive.com",
            "msn.com",
            "bing.com",
            "azure.com",
            "windows.net",
            "windows.com",
            "skype.com",
            "xbox.com",
            "msft.net",
            "microsoftstoreemail.com",
            "mail.microsoft",
            "cloud.microsoft",
            "1drv.ms",
            "aka.ms",
            "msftauth.net",
            "office.net",
            "live.net",
            "sfx.ms",
            "outlook.office365.com",
            "azureedge.net",
            "microsoftemail.com",
            "linkedin.com",
            "github.com"
        ]
    ),
    brand!(
        "Apple",
        ["apple", "icloud", "itunes", "app store"],
        [
            "apple.com",
            "icloud.com",
            "me.com",
            "mac.com",
            "itunes.com",
            "apple.news",
            "insideapple.apple.com",
            "email.apple.com",
            "appleid.apple.com",
            "mzstatic.com",
            "apple.co"
        ]
    ),
    brand!(
        "Amazon",
        ["amazon", "aws", "prime video"],
        [
            "amazon.com",
            "amazon.co.uk",
            "amazon.de",
            "amazon.fr",
            "amazon.it",
            "amazon.es",
            "amazon.ca",
            "amazon.co.jp",
            "amazon.in",
            "amazon.com.au",
            "amazon.com.br",
            "amazon.com.mx",
            "amazon.nl",
            "amazon.se",
            "amazon.pl",
            "amazonaws.com",
            "amazonses.com",
            "aws.com",
            "a2z.com",
            "primevideo.com",
            "amazon.jobs",
            "media-amazon.com",
            "ssl-images-amazon.com",
            "awstrack.me",
            "amzn.to",
            "amazonpay.com",
            "audible.com",
            "twitch.tv",
            "ring.com",
            "zappos.com",
            "wholefoodsmarket.com",
            "marketplace.amazon.com",
            "amazonbusiness.com",
            "aboutamazon.com"
        ]
    ),
    brand!(
        "Google",
        ["google", "gmail"],
        [
            "google.com",
            "gmail.com",
            "googlemail.com",
            "youtube.com",
            "google.co.uk",
            "google.de",
            "googleusercontent.com",
            "gstatic.com",
            "googleapis.com",
            "g.co",
            "goo.gl",
            "withgoogle.com",
            "googlegroups.com",
            "google.org",
            "blogger.com",
            "android.com",
            "chromium.org",
            "forms.gle",
            "googlesource.com",
            "doubleclick.net",
            "googleadservices.com",
            "1e100.net",
            "youtu.be",
            "appspot.com",
            "ggpht.com"
        ]
    ),
    brand!(
        "Netflix",
        ["netflix"],
        [
            "netflix.com",
            "netflix.net",
            "nflxso.net",
            "nflximg.net",
            "nflxext.com",
            "nflxvideo.net"
        ]
    ),
    brand!(
        "Meta",
        ["facebook", "instagram", "whatsapp", "messenger"],
        [
            "facebook.com",
            "fb.com",
            "facebookmail.com",
            "meta.com",
            "instagram.com",
            "whatsapp.com",
            "whatsapp.net",
            "messenger.com",
            "fbcdn.net",
            "fb.me",
            "metamail.com",
            "oculus.com",
            "threads.net",
            "cdninstagram.com",
            "wa.me"
        ]
    ),
    brand!(
        "LinkedIn",
        ["linkedin"],
        ["linkedin.com", "licdn.com", "lnkd.in", "linkedinmail.com"]
    ),
    brand!(
        "DHL",
        ["dhl"],
        [
            "dhl.com",
            "dhl.de",
            "dhl.co.uk",
            "dhl.fr",
            "dhl.nl",
            "dhl.es",
            "dhl.it",
            "dhlparcel.nl",
            "dhlparcel.co.uk",
            "dhl.ca",
            "dhl.com.au",
            "dpdhl.com",
            "deutschepost.de",
            "dhlecommerce.com",
            "dhl-news.com"
        ]
    ),
    brand!(
        "FedEx",
        ["fedex"],
        ["fedex.com", "fedex.co.uk", "fedex.ca", "fedex.de"]
    ),
    brand!(
        "UPS",
        ["ups.com", "united parcel service"],
        ["ups.com", "ups.co.uk", "ups-mi.net", "upsmychoice.com"]
    ),
    brand!(
        "USPS",
        ["usps", "postal service"],
        ["usps.com", "usps.gov", "informeddelivery.usps.com"]
    ),
    brand!(
        "DocuSign",
        ["docusign"],
        ["docusign.com", "docusign.net", "docusign.eu", "docusign.ca"]
    ),
    brand!(
        "Dropbox",
        ["dropbox"],
        [
            "dropbox.com",
            "dropboxmail.com",
            "dropboxusercontent.com",
            "db.tt",
            "dropbox.tech"
        ]
    ),
    brand!(
        "Adobe",
        ["adobe", "acrobat"],
        [
            "adobe.com",
            "adobesign.com",
            "echosign.com",
            "adobe.io",
            "adobelogin.com",
            "typekit.net",
            "behance.net",
            "adobeexlp.com",
            "mail.adobe.com",
            "documentcloud.adobe.com"
        ]
    ),
    brand!(
        "Wells Fargo",
        ["wells fargo", "wellsfargo"],
        [
            "wellsfargo.com",
            "wf.com",
            "wellsfargoemail.com",
            "wellsfargoadvisors.com"
        ]
    ),
    brand!(
        "Chase",
        [
            "jpmorgan chase",
            "chase bank",
            "chase online",
            "chase.com",
            "jpmorgan"
        ],
        [
            "chase.com",
            "jpmorganchase.com",
            "jpmorgan.com",
            "chasecdn.com",
            "jpmchase.com",
            "jpmorgan.com"
        ]
    ),
    brand!(
        "Bank of America",
        ["bank of america", "bankofamerica"],
        [
            "bankofamerica.com",
            "bofa.com",
            "ealerts.bankofamerica.com",
            "emcom.bankofamerica.com",
            "mbna.com",
            "merrilledge.com",
            "ml.com"
        ]
    ),
    brand!(
        "Citibank",
        ["citibank"],
        [
            "citi.com",
            "citibank.com",
            "citigroup.com",
            "citibankonline.com",
            "citicards.com"
        ]
    ),
    brand!(
        "American Express",
        ["american express", "amex", "americanexpress"],
        [
            "americanexpress.com",
            "aexp.com",
            "amex.com",
            "aexp-static.com",
            "welcome.americanexpress.com"
        ]
    ),
    brand!(
        "Coinbase",
        ["coinbase"],
        ["coinbase.com", "coinbase.zendesk.com", "cb.com"]
    ),
    brand!(
        "Binance",
        ["binance"],
        ["binance.com", "binance.us", "binance.org", "bnbstatic.com"]
    ),
    brand!(
        "MetaMask",
        ["metamask"],
        ["metamask.io", "consensys.net", "consensys.io"]
    ),
    brand!(
        "Blockchain.com",
        ["blockchain.com"],
        ["blockchain.com", "blockchain.info"]
    ),
    brand!(
        "Steam",
        ["steampowered", "steamcommunity", "steam support"],
        [
            "steampowered.com",
            "steamcommunity.com",
            "steamstatic.com",
            "valvesoftware.com",
            "steamgames.com"
        ]
    ),
    brand!(
        "Norton",
        ["norton", "lifelock"],
        [
            "norton.com",
            "nortonlifelock.com",
            "gen.com",
            "symantec.com",
            "lifelock.com",
            "gendigital.com"
        ]
    ),
    brand!(
        "McAfee",
        ["mcafee"],
        ["mcafee.com", "mcafeesecure.com", "mcafee.de", "trellix.com"]
    ),
    brand!(
        "eBay",
        ["ebay"],
        [
            "ebay.com",
            "ebay.co.uk",
            "ebay.de",
            "ebay.fr",
            "ebay.it",
            "ebay.ca",
            "ebay.com.au",
            "ebaystatic.com",
            "ebay.us",
            "ebayinc.com",
            "ebaydesc.com"
        ]
    ),
    brand!(
        "Walmart",
        ["walmart"],
        [
            "walmart.com",
            "walmart.ca",
            "walmartimages.com",
            "samsclub.com",
            "walmartmail.com"
        ]
    ),
    brand!(
        "Costco",
        ["costco"],
        ["costco.com", "costco.ca", "costco.co.uk"]
    ),
    brand!(
        "IRS",
        ["internal revenue service", "irs.gov"],
        ["irs.gov", "treasury.gov"]
    ),
    brand!("HMRC", ["hmrc", "hm revenue"], ["gov.uk", "hmrc.gov.uk"]),
    brand!(
        "AT&T",
        ["at&t", "att.net"],
        [
            "att.com",
            "att.net",
            "attinfo.com",
            "directv.com",
            "emaildl.att-mail.com",
            "att-mail.com"
        ]
    ),
    brand!(
        "Verizon",
        ["verizon"],
        [
            "verizon.com",
            "verizonwireless.com",
            "verizon.net",
            "vzw.com",
            "yahoo.com",
            "aol.com"
        ]
    ),
    brand!(
        "Comcast",
        ["xfinity", "comcast"],
        ["comcast.com", "comcast.net", "xfinity.com"]
    ),
    brand!("WeTransfer", ["wetransfer"], ["wetransfer.com", "we.tl"]),
    brand!(
        "Zoom",
        ["zoom video", "zoom meeting", "zoom.us"],
        ["zoom.us", "zoom.com", "zoomgov.com"]
    ),
    brand!(
        "Outlook Web Access",
        ["owa", "webmail"],
        [
            "outlook.com",
            "office.com",
            "office365.com",
            "microsoft.com"
        ]
    ),
    brand!(
        "Booking.com",
        ["booking.com"],
        ["booking.com", "bstatic.com", "booking.cn"]
    ),
    brand!(
        "Instagram",
        ["instagram"],
        [
            "instagram.com",
            "facebookmail.com",
            "mail.instagram.com",
            "cdninstagram.com",
            "facebook.com"
        ]
    ),
    brand!(
        "Spotify",
        ["spotify"],
        ["spotify.com", "scdn.co", "spotifycdn.com", "spotify.link"]
    ),
    brand!(
        "Yahoo",
        ["yahoo"],
        [
            "yahoo.com",
            "yahoo.co.uk",
            "yahoo.co.jp",
            "yahoo.fr",
            "yahoo.de",
            "yahoo.net",
            "yahoodns.net",
            "yimg.com",
            "yahoo.ca",
            "yahoo.in",
            "yahoo.es",
            "yahoo.it",
            "yahoo.com.br",
            "aol.com",
            "verizonmedia.com",
            "yahooinc.com"
        ]
    ),
    brand!(
        "AOL",
        ["aol mail", "aol.com"],
        ["aol.com", "aol.co.uk", "aolmail.com", "yahoo.com"]
    ),
    brand!(
        "Santander",
        ["santander"],
        [
            "santander.co.uk",
            "santander.com",
            "santanderbank.com",
            "santander.de",
            "santander.es",
            "santander.pl"
        ]
    ),
    brand!(
        "HSBC",
        ["hsbc"],
        [
            "hsbc.com",
            "hsbc.co.uk",
            "hsbc.com.hk",
            "hsbcnet.com",
            "us.hsbc.com",
            "hsbc.fr"
        ]
    ),
    brand!(
        "Barclays",
        ["barclays", "barclaycard"],
        [
            "barclays.co.uk",
            "barclays.com",
            "barclaycard.co.uk",
            "barclaycardus.com",
            "barclays.net"
        ]
    ),
    brand!(
        "Capital One",
        ["capital one", "capitalone"],
        ["capitalone.com", "capitalone.co.uk", "capitalone.ca"]
    ),
    brand!(
        "Discover",
        ["discover card"],
        ["discover.com", "discovercard.com"]
    ),
    brand!("Visa", ["verified by visa"], ["visa.com"]),
    brand!(
        "Mastercard",
        ["mastercard"],
        ["mastercard.com", "mastercard.us", "mastercard.co.uk"]
    ),
    brand!(
        "Intuit",
        ["quickbooks", "intuit", "turbotax"],
        [
            "intuit.com",
            "quickbooks.com",
            "turbotax.com",
            "notification.intuit.com",
            "mint.com",
            "creditkarma.com",
            "mailchimp.com"
        ]
    ),
    brand!("Office Depot", ["office depot"], ["officedepot.com"]),
    brand!("Roblox", ["roblox"], ["roblox.com", "rbxcdn.com"]),
    brand!(
        "Twitter / X",
        ["twitter"],
        ["twitter.com", "x.com", "t.co", "twimg.com"]
    ),
    brand!(
        "Telegram",
        ["telegram"],
        ["telegram.org", "t.me", "telegram.me"]
    ),
    brand!(
        "Trust Wallet",
        ["trust wallet", "trustwallet"],
        ["trustwallet.com"]
    ),
    brand!("Ledger", ["ledger live", "ledger wallet"], ["ledger.com"]),
    brand!("Kraken", ["kraken exchange"], ["kraken.com"]),
    brand!("Crypto.com", ["crypto.com"], ["crypto.com"]),
    brand!("OpenSea", ["opensea"], ["opensea.io"]),
    brand!(
        "Royal Mail",
        ["royal mail", "royalmail"],
        ["royalmail.com", "royalmail.co.uk", "royalmailgroup.com"]
    ),
    brand!(
        "Canada Post",
        ["canada post", "postes canada"],
        [
            "canadapost.ca",
            "postescanada.ca",
            "canadapost-postescanada.ca"
        ]
    ),
    brand!(
        "Australia Post",
        ["australia post", "auspost"],
        ["auspost.com.au"]
    ),
    brand!(
        "La Poste",
        ["la poste", "colissimo"],
        ["laposte.fr", "laposte.net", "colissimo.fr"]
    ),
    brand!(
        "Deutsche Post",
        ["deutsche post"],
        ["deutschepost.de", "dhl.de"]
    ),
    brand!("Swisscom", ["swisscom"], ["swisscom.ch", "swisscom.com"]),
    brand!("Orange", ["orange.fr"], ["orange.fr", "orange.com"]),
    brand!("Webex", ["webex"], ["webex.com", "cisco.com"]),
    brand!(
        "Salesforce",
        ["salesforce"],
        ["salesforce.com", "force.com", "exacttarget.com"]
    ),
    brand!("Zimbra", ["zimbra"], ["zimbra.com"]),
    brand!("cPanel", ["cpanel"], ["cpanel.net", "cpanel.com"]),
    brand!(
        "SharePoint",
        ["sharepoint"],
        ["sharepoint.com", "microsoft.com"]
    ),
    brand!("Norwegian Cruise", ["norwegian cruise"], ["ncl.com"]),
    brand!("Home Depot", ["home depot", "homedepot"], ["homedepot.com"]),
    brand!("Lowe's", ["lowes", "lowe's"], ["lowes.com"]),
    brand!("Kohl's", ["kohls", "kohl's"], ["kohls.com"]),
    brand!("Target", ["target.com"], ["target.com"]),
    brand!(
        "Best Buy",
        ["best buy", "bestbuy"],
        ["bestbuy.com", "bestbuy.ca"]
    ),
    brand!("CVS", ["cvs pharmacy"], ["cvs.com"]),
    brand!("Walgreens", ["walgreens"], ["walgreens.com"]),
    brand!("State Farm", ["state farm", "statefarm"], ["statefarm.com"]),
    brand!("Geico", ["geico"], ["geico.com"]),
    brand!("Allstate", ["allstate"], ["allstate.com"]),
    brand!("AAA", ["aaa roadside"], ["aaa.com"]),
    brand!(
        "Delta",
        ["delta air lines", "delta airlines"],
        ["delta.com"]
    ),
    brand!(
        "Southwest",
        ["southwest airlines"],
        ["southwest.com", "luv.southwest.com"]
    ),
    brand!("Chase Sapphire", ["sapphire reserve"], ["chase.com"]),
    brand!("Venmo", ["venmo"], ["venmo.com", "paypal.com"]),
    brand!(
        "Cash App",
        ["cash app", "cashapp"],
        ["cash.app", "square.com", "squareup.com", "block.xyz"]
    ),
    brand!(
        "Zelle",
        ["zelle"],
        ["zellepay.com", "zelle.com", "earlywarning.com"]
    ),
    brand!(
        "Meta Business",
        ["meta business", "business suite"],
        ["facebook.com", "facebookmail.com", "meta.com"]
    ),
    brand!(
        "TikTok",
        ["tiktok"],
        ["tiktok.com", "tiktokv.com", "bytedance.com"]
    ),
    brand!(
        "Disney+",
        ["disney+", "disney plus"],
        ["disneyplus.com", "disney.com", "go.com"]
    ),
    brand!("Hulu", ["hulu"], ["hulu.com"]),
    brand!("McDonald's", ["mcdonald's", "mcdonalds"], ["mcdonalds.com"]),
    brand!("Starbucks", ["starbucks"], ["starbucks.com"]),
    brand!("Norton 360", ["norton 360"], ["norton.com"]),
    brand!("Avast", ["avast"], ["avast.com"]),
    brand!("Kaspersky", ["kaspersky"], ["kaspersky.com"]),
    brand!("GoDaddy", ["godaddy"], ["godaddy.com", "secureserver.net"]),
    brand!("Namecheap", ["namecheap"], ["namecheap.com"]),
    brand!("Stripe", ["stripe payments"], ["stripe.com"]),
    brand!(
        "Shopify",
        ["shopify"],
        ["shopify.com", "myshopify.com", "shopifyemail.com"]
    ),
    brand!("Etsy", ["etsy"], ["etsy.com", "etsystatic.com"]),
    brand!(
        "AliExpress",
        ["aliexpress", "alibaba"],
        ["aliexpress.com", "alibaba.com", "alipay.com"]
    ),
    brand!("Rakuten", ["rakuten"], ["rakuten.com", "rakuten.co.jp"]),
    brand!(
        "Mercado Libre",
        ["mercado libre", "mercadolibre", "mercado pago"],
        ["mercadolibre.com", "mercadopago.com", "mercadolivre.com.br"]
    ),
    brand!("Nubank", ["nubank"], ["nubank.com.br"]),
    brand!("Itaú", ["itau", "itaú"], ["itau.com.br"]),
    brand!("Bradesco", ["bradesco"], ["bradesco.com.br"]),
    brand!("Caixa", ["caixa economica"], ["caixa.gov.br"]),
    brand!("ING", ["ing bank"], ["ing.com", "ing.nl", "ing.de"]),
    brand!("Rabobank", ["rabobank"], ["rabobank.nl", "rabobank.com"]),
    brand!("Sparkasse", ["sparkasse"], ["sparkasse.de"]),
    brand!("Commerzbank", ["commerzbank"], ["commerzbank.de"]),
    brand!(
        "Deutsche Bank",
        ["deutsche bank"],
        ["deutsche-bank.de", "db.com"]
    ),
    brand!(
        "BNP Paribas",
        ["bnp paribas"],
        ["bnpparibas.com", "mabanque.bnpparibas"]
    ),
    brand!(
        "Crédit Agricole",
        ["credit agricole", "crédit agricole"],
        ["credit-agricole.fr", "credit-agricole.com"]
    ),
    brand!(
        "Société Générale",
        ["societe generale", "société générale"],
        ["societegenerale.fr", "societegenerale.com"]
    ),
    brand!(
        "Lloyds",
        ["lloyds bank"],
        ["lloydsbank.com", "lloydsbank.co.uk"]
    ),
    brand!("NatWest", ["natwest"], ["natwest.com"]),
    brand!("Halifax", ["halifax"], ["halifax.co.uk"]),
    brand!(
        "TD Bank",
        ["td bank", "td canada trust"],
        ["td.com", "tdbank.com"]
    ),
    brand!(
        "RBC",
        ["rbc royal bank", "royal bank of canada"],
        ["rbc.com", "rbcroyalbank.com"]
    ),
    brand!("Scotiabank", ["scotiabank"], ["scotiabank.com"]),
    brand!("Interac", ["interac"], ["interac.ca"]),
    brand!(
        "Commonwealth Bank",
        ["commonwealth bank", "commbank"],
        ["commbank.com.au", "cba.com.au"]
    ),
    brand!("ANZ", ["anz bank"], ["anz.com", "anz.com.au"]),
    brand!("Westpac", ["westpac"], ["westpac.com.au"]),
    brand!("USAA", ["usaa"], ["usaa.com"]),
    brand!("Navy Federal", ["navy federal"], ["navyfederal.org"]),
    brand!("Truist", ["truist"], ["truist.com"]),
    brand!("PNC", ["pnc bank"], ["pnc.com"]),
    brand!("US Bank", ["u.s. bank", "usbank"], ["usbank.com"]),
    brand!("Robinhood", ["robinhood"], ["robinhood.com"]),
    brand!("Fidelity", ["fidelity investments"], ["fidelity.com"]),
    brand!(
        "Charles Schwab",
        ["charles schwab", "schwab"],
        ["schwab.com"]
    ),
    brand!("Vanguard", ["vanguard"], ["vanguard.com"]),
    brand!(
        "Social Security",
        ["social security administration"],
        ["ssa.gov"]
    ),
    brand!("Medicare", ["medicare"], ["medicare.gov", "cms.gov"]),
    brand!(
        "FBI",
        ["federal bureau of investigation"],
        ["fbi.gov", "ic3.gov"]
    ),
];

/// Email service providers' tracking and bounce domains: a link-text
/// mismatch or a Return-Path through them is how legitimate bulk mail looks.
pub const ESP_DOMAINS: &[&str] = &[
    "sendgrid.net",
    "list-manage.com",
    "mcsv.net",
    "mailchimp.com",
    "exacttarget.com",
    "rs6.net",
    "hubspotlinks.com",
    "hs-sites.com",
    "awstrack.me",
    "mailgun.org",
    "sparkpostmail.com",
    "mandrillapp.com",
    "ctctcdn.com",
    "cmail19.com",
    "cmail20.com",
    "createsend.com",
    "mktoweb.com",
    "mkt.com",
    "marketo.com",
    "salesforce.com",
    "eloqua.com",
    "klaviyo.com",
    "klclick.com",
    "klclick1.com",
    "klclick2.com",
    "klclick3.com",
    "braze.com",
    "iterable.com",
    "customer.io",
    "sailthru.com",
    "responsys.net",
    "bluehornet.com",
    "pardot.com",
    "emarsys.net",
    "mailjet.com",
    "sendibt3.com",
    "sendinblue.com",
    "brevo.com",
    "postmarkapp.com",
    "emltrk.com",
    "mlsend.com",
    "mailerlite.com",
    "convertkit-mail.com",
    "ck.page",
    "substack.com",
    "beehiiv.com",
    "campaign-archive.com",
    "doubleclick.net",
    "amazonses.com",
    "bounces.google.com",
    "mailgun.net",
    "sparkpostmail1.com",
    "sendgrid.com",
    "mktomail.com",
    "rsys2.com",
    "rsys5.com",
    "mcdlv.net",
    "mailchimpapp.net",
    "sailthru-mail.com",
    "linksynergy.com",
    "urldefense.com",
    "safelinks.protection.outlook.com",
];

/// Known open redirectors and link wrappers: (host suffix, path prefix, query
/// parameter holding the target, whether it is a security wrapper that the
/// recipient's own organisation applies and so not suspicious by itself).
pub struct Redirector {
    pub host: &'static str,
    pub path: &'static str,
    pub param: &'static str,
    pub security_wrapper: bool,
}

macro_rules! redir {
    ($h:expr, $p:expr, $q:expr, $s:expr) => {
        Redirector {
            host: $h,
            path: $p,
            param: $q,
            security_wrapper: $s,
        }
    };
}

pub const REDIRECTORS: &[Redirector] = &[
    redir!("google.com", "/url", "q", false),
    redir!("google.com", "/url", "url", false),
    redir!("google.com", "/amp/s/", "", false),
    redir!("googleadservices.com", "/pagead/aclk", "adurl", false),
    redir!("youtube.com", "/redirect", "q", false),
    redir!("l.facebook.com", "/l.php", "u", false),
    redir!("lm.facebook.com", "/l.php", "u", false),
    redir!("l.instagram.com", "/", "u", false),
    redir!("linkedin.com", "/redir/redirect", "url", false),
    redir!("linkedin.com", "/slink", "code", false),
    redir!("bing.com", "/ck/a", "u", false),
    redir!("t.umblr.com", "/redirect", "z", false),
    redir!("away.vk.com", "/away.php", "to", false),
    redir!("vk.com", "/away.php", "to", false),
    redir!("slack-redir.net", "/link", "url", false),
    redir!("steamcommunity.com", "/linkfilter/", "url", false),
    redir!("t.me", "/iv", "url", false),
    redir!("duckduckgo.com", "/l/", "uddg", false),
    redir!("weixin.qq.com", "/", "url", false),
    redir!("safelinks.protection.outlook.com", "/", "url", true),
    redir!("urldefense.proofpoint.com", "/v2/url", "u", true),
    redir!("urldefense.com", "/v3/__", "", true),
    redir!("protect-us.mimecast.com", "/", "", true),
    redir!("linkprotect.cudasvc.com", "/url", "a", true),
    redir!("secure-web.cisco.com", "/", "", true),
    redir!("clicktime.symantec.com", "/", "u", true),
];
