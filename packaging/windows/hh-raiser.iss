; The Windows installer of HH Raiser (Inno Setup 6), built by `scripts/package windows`:
;   iscc -DAppVersion=0.1.0 -DSourceDir=<dist\hh-raiser> -DOutputDir=<folder> hh-raiser.iss
;
; Per user, without admin rights: the app goes to %LOCALAPPDATA%\Programs\HH Raiser
; (what {userpf} means; written out because Wine, which builds and tests this installer
; on Linux in tests/test_windows_installer.py, does not know that shell folder), the
; Start-menu entry to the user's Programs. "Start at login" is the same HKCU Run value
; the app's own menu switch writes (tray_app/adapters/autostart/windows.py: value name
; "HH Raiser", the quoted path), so either may turn it off. Uninstall stops the running
; app (`hh-raiser.exe quit`), offers to remove the settings, history and the secrets in
; Windows Credential Manager (`hh-raiser.exe reset --yes`: only the app knows which
; secrets are its own), and always removes the start-at-login values.
; A silent uninstall keeps the data unless given /REMOVEDATA=yes.

#define AppName "HH Raiser"
#define AppExe "hh-raiser.exe"
#ifndef AppVersion
  #error Pass the version: /DAppVersion=x.y.z
#endif
#ifndef SourceDir
  #error Pass the PyInstaller folder: /DSourceDir=...\dist\hh-raiser
#endif
#ifndef OutputDir
  #define OutputDir "."
#endif

[Setup]
; never change: Windows finds an installed copy (upgrade, uninstall) by it
AppId={{5B0F2C5E-8E0B-4C53-9B1A-2F3E6D7A9C41}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher={#AppName}
VersionInfoVersion={#AppVersion}
DefaultDirName={localappdata}\Programs\{#AppName}
DisableDirPage=auto
DisableProgramGroupPage=yes
DisableReadyPage=yes
PrivilegesRequired=lowest
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename=hh-raiser-{#AppVersion}-windows-setup
SetupIconFile={#SourcePath}\..\..\assets\hh-raiser.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ShowLanguageDialog=auto
; the app is asked to quit by name (PrepareToInstall); Restart Manager would only
; look for windows, and a tray app has none
CloseApplications=no

[Languages]
Name: "ru"; MessagesFile: "compiler:Languages\Russian.isl"
Name: "en"; MessagesFile: "compiler:Default.isl"

[CustomMessages]
ru.StartAtLogin=Запускать HH Raiser при входе в Windows (он поднимает резюме, только пока запущен)
en.StartAtLogin=Start HH Raiser when I sign in to Windows (it raises resumes only while it runs)
ru.LaunchNow=Запустить HH Raiser
en.LaunchNow=Start HH Raiser
ru.RemoveData=Удалить и настройки HH Raiser, его историю и сохранённые ключи входа (hh.ru, Telegram)?%n%nНажмите «Нет», чтобы сохранить их для следующей установки.
en.RemoveData=Also remove HH Raiser's settings, history and saved sign-in keys (hh.ru, Telegram)?%n%nChoose No to keep them for a later install.
ru.RemoveDataFailed=Не удалось удалить всё: часть данных осталась. Запустите «hh-raiser reset» вручную или удалите ключи HH Raiser в «Диспетчере учётных данных».
en.RemoveDataFailed=Not everything could be removed. Run "hh-raiser reset" yourself or remove HH Raiser's entries in Credential Manager.

[Tasks]
Name: "startatlogin"; Description: "{cm:StartAtLogin}"
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[InstallDelete]
; an upgrade must not leave libraries of the old version beside the new ones
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{userprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{userdesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Registry]
Root: HKCU; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: string; ValueName: "{#AppName}"; ValueData: """{app}\{#AppExe}"""; Tasks: startatlogin

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchNow}"; Flags: nowait postinstall skipifsilent

[Code]
const
  RunKey = 'Software\Microsoft\Windows\CurrentVersion\Run';
  ApprovedKey = 'Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run';

{ Runs the installed app with the given arguments, hidden, and waits for it. }
function RunApp(const Params: String; var Code: Integer): Boolean;
var
  Exe: String;
begin
  Exe := ExpandConstant('{app}\{#AppExe}');
  Result := FileExists(Exe) and
    Exec(Exe, Params, ExpandConstant('{app}'), SW_HIDE, ewWaitUntilTerminated, Code);
  Log(Format('%s %s: started=%d, exit code %d', [Exe, Params, Ord(Result), Code]));
end;

{ An upgrade replaces files the running app holds open: ask it to quit first. }
function PrepareToInstall(var NeedsRestart: Boolean): String;
var
  Code: Integer;
begin
  RunApp('quit', Code);
  Result := '';
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  Code: Integer;
  RemoveData: Boolean;
begin
  if CurUninstallStep <> usUninstall then
    exit;
  RunApp('quit', Code);
  if UninstallSilent then
    RemoveData := LowerCase(ExpandConstant('{param:REMOVEDATA|no}')) = 'yes'
  else
    RemoveData := MsgBox(CustomMessage('RemoveData'), mbConfirmation, MB_YESNO or MB_DEFBUTTON2) = IDYES;
  if RemoveData then begin
    if not RunApp('reset --yes', Code) or (Code <> 0) then
      SuppressibleMsgBox(CustomMessage('RemoveDataFailed'), mbError, MB_OK, IDOK);
  end;
  { whether the installer or the app's own menu switch wrote them }
  RegDeleteValue(HKEY_CURRENT_USER, RunKey, '{#AppName}');
  RegDeleteValue(HKEY_CURRENT_USER, ApprovedKey, '{#AppName}');
end;
