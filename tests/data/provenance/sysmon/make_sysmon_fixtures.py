"""Write the hand-made Sysmon fixtures in this folder (described in README.md).

Run from the repository root: ``python tests/data/provenance/sysmon/make_sysmon_fixtures.py``.
Field names and value shapes follow the OTRF Security-Datasets exports (nxlog flat
records: ``Channel``, ``EventID``, ``Hostname``, ``UtcTime``, GUIDs in braces, numbers
as strings); hosts, GUIDs and paths are made up.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHANNEL = "Microsoft-Windows-Sysmon/Operational"
WS1, WS2 = "WS1.corp.local", "WS2.corp.local"
P1 = "{1A2B3C4D-0001-5F51-0100-000000000500}"  # explorer.exe (parent only)
P2 = "{1A2B3C4D-0002-5F51-0100-000000000500}"  # cmd.exe
P3 = "{1A2B3C4D-0003-5F51-0100-000000000500}"  # powershell.exe
P4 = "{1A2B3C4D-0004-5F51-0100-000000000500}"  # lsass.exe (target only)
P9 = "{1A2B3C4D-0009-5F51-0100-000000000500}"  # terminates, never created
Q1 = "{9F8E7D6C-0001-5F52-0100-000000000600}"  # WS2 svchost.exe
PS = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"


def ev(eid: int, second: int, host: str = WS1, **fields: object) -> dict:
    rec = {"SourceName": "Microsoft-Windows-Sysmon", "Channel": CHANNEL, "Hostname": host,
           "host": "wec.internal.cloudapp.net", "EventID": eid,
           "UtcTime": f"2020-09-04 07:30:{second:02d}.250", "RuleName": "-"}
    rec.update(fields)
    return rec


def proc(guid: str = P3, image: str = PS, pid: str = "1376") -> dict:
    return {"ProcessGuid": guid, "Image": image, "ProcessId": pid}


def events() -> list[str]:
    """The lines of events.jsonl, one comment per expected outcome."""
    lines: list[object] = [
        {"Channel": "Security", "SourceName": "Microsoft-Windows-Security-Auditing",
         "EventID": 4688, "Hostname": WS1},                                 # not_sysmon
        {"Channel": "Windows PowerShell", "SourceName": "PowerShell", "EventID": 400,
         "Hostname": WS1},                                                  # not_sysmon
        '{"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", ',  # malformed
        "",                                                                 # blank: ignored
        ev(1, 0, ProcessGuid=P2, Image="C:\\Windows\\System32\\cmd.exe", ProcessId="200",
           CommandLine="cmd.exe /c powershell", ParentProcessGuid=P1, ParentProcessId="100",
           ParentImage="C:\\Windows\\explorer.exe"),                       # start P1->P2
        ev(1, 1, ProcessGuid=P3.lower(), Image=PS, ProcessId="1376",
           CommandLine="powershell -enc AAAA", ParentProcessGuid=P2.upper(),
           ParentImage="C:\\Windows\\System32\\cmd.exe"),                  # start P2->P3
        ev(3, 2, **proc(), Initiated="true", DestinationIp="10.0.0.7",
           DestinationPort="445", SourceIp="10.0.0.5"),                    # connect (shared)
        ev(3, 2, host=WS2, ProcessGuid=Q1, Image="C:\\Windows\\System32\\svchost.exe",
           ProcessId="4", Initiated="false", DestinationIp="10.0.0.7",
           DestinationPort="445", SourceIp="10.0.0.5"),                    # accept (shared)
        ev(3, 3, **proc(), Initiated="true", DestinationIp="127.0.0.1",
           DestinationPort="8080"),                                        # connect (local)
        ev(6, 4, ImageLoaded="C:\\Windows\\System32\\drivers\\evil.sys",
           Signed="false"),                                                # load by system
        ev(7, 5, **proc(), ImageLoaded="C:\\Windows\\System32\\amsi.dll"),  # load module
        ev(11, 6, **proc(), TargetFilename="C:\\Users\\Public\\payload.DLL"),  # create
        ev(7, 7, **proc(P2, "C:\\Windows\\System32\\cmd.exe", "200"),
           ImageLoaded="c:\\users\\public\\PAYLOAD.dll"),                  # load: now module
        ev(8, 8, SourceProcessGuid=P3, SourceImage=PS, SourceProcessId="1376",
           TargetProcessGuid=P4, TargetImage="C:\\Windows\\System32\\lsass.exe",
           TargetProcessId="640"),                                         # access
        ev(10, 9, SourceProcessGUID=P3, SourceImage=PS, TargetProcessGUID=P4,
           TargetImage="C:\\Windows\\System32\\lsass.exe",
           GrantedAccess="0x1010"),                                        # access
        ev(12, 10, **proc(), EventType="CreateKey",
           TargetObject="HKU\\S-1-5-21\\Software\\Classes\\ms-settings\\Shell"),  # reg_create
        ev(12, 11, **proc(), EventType="DeleteKey",
           TargetObject="HKU\\S-1-5-21\\Software\\Classes\\ms-settings\\Shell"),  # reg_delete
        ev(12, 12, **proc(), TargetObject="HKLM\\Software\\Evil"),        # reg_create (no type)
        ev(13, 13, **proc(), EventType="SetValue", Details="C:\\evil.exe",
           TargetObject="HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\evil"),
        ev(14, 14, **proc(), EventType="RenameKey", TargetObject="HKLM\\Software\\Evil",
           NewName="HKLM\\Software\\Good"),                                # 2 x rename
        ev(2, 15, **proc(), TargetFilename="C:\\Users\\Public\\payload.dll",
           CreationUtcTime="2019-01-01 00:00:00.000"),                     # filecreatetime
        ev(9, 16, **proc(), Device="\\Device\\HarddiskVolume3"),          # read
        ev(15, 17, **proc(), TargetFilename="C:\\Users\\Public\\dl.exe:Zone.Identifier",
           Hash="SHA1=00"),                                                # create
        ev(17, 18, **proc(), EventType="CreatePipe", PipeName="\\msagent_fedac123"),  # create
        ev(18, 19, **proc(P2, "C:\\Windows\\System32\\cmd.exe", "200"), EventType="ConnectPipe",
           PipeName="\\MSAGENT_fedac123"),                                 # open, same pipe
        ev(17, 20, **proc(), PipeName="&lt;Anonymous Pipe&gt;"),          # anonymous_pipe
        ev(19, 21, EventType="WmiFilterEvent", Operation="Created", User="CORP\\admin",
           EventNamespace='"root\\\\cimv2"', Name='"Updater"',
           Query='"SELECT * FROM __InstanceModificationEvent"'),           # create
        ev(20, 22, EventType="WmiConsumerEvent", Operation="Created", User="CORP\\admin",
           Name='"Updater"', Type="Command Line",
           Destination='"powershell.exe -enc AAAA"'),                      # create
        ev(21, 23, EventType="WmiBindingEvent", Operation="Created", User="CORP\\admin",
           Consumer='CommandLineEventConsumer.Name="Updater"',
           Filter='__EventFilter.Name="Updater"'),                        # wmieventconsumertofilter
        ev(22, 24, **proc(), QueryName="Evil.Example.COM",
           QueryResults="::ffff:10.0.0.66;"),                              # dnsquery
        ev(23, 25, **proc(), TargetFilename="C:\\Users\\Public\\dl.exe",
           IsExecutable="true", Archived="true"),                          # delete
        ev(24, 26, **proc(), Session="2", ClientInfo="user: CORP\\admin"),  # write clipboard
        ev(25, 27, **proc(), Type="Image is replaced"),                   # processtampering
        ev(26, 28, **proc(), TargetFilename="C:\\Users\\Public\\a.tmp"),  # delete
        ev(27, 29, **proc(), TargetFilename="C:\\Users\\Public\\b.exe"),  # fileblockexecutable
        ev(28, 30, **proc(), TargetFilename="C:\\Users\\Public\\c.doc"),  # fileblockshredding
        ev(29, 31, **proc(), TargetFilename="C:\\Users\\Public\\d.exe"),  # create
        ev(5, 32, **proc()),                                               # exit P2->P3
        ev(5, 33, **proc(P9, "C:\\Windows\\System32\\timeout.exe", "77")),  # exit self-loop
        ev(4, 34, State="Started"),                                        # sysmon_state
        ev(16, 35, Configuration="sysmonconfig.xml"),                      # sysmon_state
        ev(255, 36, Description="error"),                                  # sysmon_state
        ev(99, 37, **proc()),                                              # unknown id 99
        ev(1, 38, ProcessGuid="{00000000-0000-0000-0000-000000000000}",
           Image="C:\\x.exe", ParentProcessGuid=P2),                       # no_process
        ev(11, 39, **proc()),                                              # no_object
        {k: v for k, v in ev(10, 40, SourceProcessGUID=P3, TargetProcessGUID=P4).items()
         if k != "UtcTime"},                                               # no_time
        ev("abc", 41, **proc()),                                           # malformed id
        [1, 2],                                                            # malformed
        {**{k: v for k, v in ev(1, 0, host=WS2, ProcessGuid=Q1, ProcessId="4",
                                Image="C:\\Windows\\System32\\svchost.exe").items()
            if k not in ("Channel", "UtcTime")},
         "@timestamp": "2020-09-04T07:31:00.500Z"},                        # no_parent
    ]
    return [x if isinstance(x, str) else json.dumps(x) for x in lines]


# Three events written in each of the three record shapes: the graphs must be equal.
SHAPED = [
    ("1", {"ProcessGuid": P2, "Image": "C:\\Windows\\System32\\cmd.exe", "ProcessId": "200",
           "CommandLine": "cmd.exe /c whoami", "ParentProcessGuid": P1,
           "ParentImage": "C:\\Windows\\explorer.exe", "UtcTime": "2020-09-04 07:30:00.250"}),
    ("11", {"ProcessGuid": P2, "Image": "C:\\Windows\\System32\\cmd.exe",
            "TargetFilename": "C:\\Temp\\out.txt", "UtcTime": "2020-09-04 07:30:01.250"}),
    ("3", {"ProcessGuid": P2, "Image": "C:\\Windows\\System32\\cmd.exe",
           "Initiated": "true", "DestinationIp": "fe80:0:0:0:5d54:ed5a:760f:c4ff",
           "DestinationPort": "445", "UtcTime": "2020-09-04 07:30:02.250"}),
]


def winlogbeat() -> list[str]:
    return [json.dumps({"@timestamp": "2020-09-04T07:30:00.000Z",
                        "winlog": {"channel": CHANNEL, "event_id": int(eid),
                                   "provider_name": "Microsoft-Windows-Sysmon",
                                   "computer_name": WS1, "event_data": data},
                        "host": {"name": "ws1"}})
            for eid, data in SHAPED]


def evtx() -> list[str]:
    return [json.dumps({"Event": {
        "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
        "System": {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
                   "EventID": int(eid), "Channel": CHANNEL, "Computer": WS1,
                   "TimeCreated": {"#attributes": {"SystemTime": "2020-09-04T07:30:00Z"}}},
        "EventData": data}}) for eid, data in SHAPED]


def flat() -> list[str]:
    return [json.dumps({"Channel": CHANNEL, "EventID": int(eid), "Hostname": WS1, **data})
            for eid, data in SHAPED]


def main() -> None:
    for name, lines in (("events.jsonl", events()), ("shape_flat.jsonl", flat()),
                        ("shape_winlogbeat.jsonl", winlogbeat()),
                        ("shape_evtx.jsonl", evtx())):
        (HERE / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
