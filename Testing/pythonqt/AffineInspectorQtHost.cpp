// AffineInspectorQtHost: run a Python program inside a Qt application whose Python
// sees Qt through PythonQt, as Python code inside 3D Slicer does.
//
//   AffineInspectorQtHost [--venv DIR] [python options] (script.py | -m module | -c command) [args...]
//
// Everything after the host's own --venv option is read as the python command
// line is (sys.argv, -m, -c, -X, -W ...); the exit status is Python's: the
// SystemExit code, 1 for an uncaught exception, 0 otherwise.
//
// --venv DIR (default: $VIRTUAL_ENV) makes Python start as DIR/bin/python
// would, so the virtual environment's site-packages are importable, and puts
// DIR/bin first on PATH as activating it does (its console scripts, such as
// dcm2niix, are found). The host then puts itself in sys.executable
// (exporting VIRTUAL_ENV), so that a child started with sys.executable is
// again this host in the same environment, and so that CTK's qt module, which
// skips every kit when the name of sys.executable contains "python", loads as
// it does in SlicerApp-real.

// PythonQt.h includes Python.h, which must come before the Qt headers.
#include <PythonQt.h>
#include <PythonQt_QtAll.h>

#include <QApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <cstdio>
#include <cstring>
#include <vector>

namespace
{

bool failed(PyStatus status, PyConfig* config, int* exitCode)
{
  if (!PyStatus_Exception(status))
  {
    return false;
  }
  PyConfig_Clear(config);
  if (PyStatus_IsExit(status))
  {
    *exitCode = status.exitcode;  // --help, --version
    return true;
  }
  std::fprintf(stderr, "AffineInspectorQtHost: Python initialization failed: %s\n",
    status.err_msg ? status.err_msg : "unknown error");
  *exitCode = 1;
  return true;
}

bool prependToSysPath(const QString& folder)
{
  PyObject* path = PySys_GetObject("path");  // borrowed
  PyObject* entry = PyUnicode_FromString(folder.toUtf8().constData());
  bool done = path && entry && PyList_Insert(path, 0, entry) == 0;
  Py_XDECREF(entry);
  return done;
}

bool setSysExecutable(const QString& executable)
{
  PyObject* value = PyUnicode_FromString(executable.toUtf8().constData());
  bool done = value && PySys_SetObject("executable", value) == 0;
  Py_XDECREF(value);
  return done;
}

}  // namespace

int main(int argc, char** argv)
{
  QString venv = qEnvironmentVariable("VIRTUAL_ENV");
  std::vector<char*> pythonArgv{argv[0]};
  int index = 1;
  while (index < argc)
  {
    if (std::strcmp(argv[index], "--venv") == 0 && index + 1 < argc)
    {
      venv = QString::fromLocal8Bit(argv[index + 1]);
      index += 2;
    }
    else if (std::strncmp(argv[index], "--venv=", 7) == 0)
    {
      venv = QString::fromLocal8Bit(argv[index] + 7);
      index += 1;
    }
    else
    {
      break;
    }
  }
  for (; index < argc; ++index)
  {
    pythonArgv.push_back(argv[index]);
  }

  // Without a display QApplication aborts; tests run offscreen anyway.
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM") && qEnvironmentVariableIsEmpty("DISPLAY")
    && qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY"))
  {
    qputenv("QT_QPA_PLATFORM", "offscreen");
  }
  // Qt sees only the program name: options such as -style or -reverse are Python's to read.
  int qtArgc = 1;
  char* qtArgv[] = {argv[0], nullptr};
  QApplication application(qtArgc, qtArgv);
  const QString hostExecutable = QCoreApplication::applicationFilePath();
  const QString prefix = QFileInfo(QCoreApplication::applicationDirPath()).absolutePath();

  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  config.parse_argv = 1;
  int exitCode = 0;
  if (failed(PyConfig_SetBytesArgv(&config, static_cast<Py_ssize_t>(pythonArgv.size()), pythonArgv.data()), &config,
        &exitCode))
  {
    return exitCode;
  }
  if (!venv.isEmpty())
  {
    venv = QDir(venv).absolutePath();
    const QString venvPython = venv + "/bin/python";
    if (!QFileInfo::exists(venvPython) || !QFileInfo::exists(venv + "/pyvenv.cfg"))
    {
      std::fprintf(stderr, "AffineInspectorQtHost: %s is not a virtual environment (no bin/python, pyvenv.cfg)\n",
        venv.toLocal8Bit().constData());
      PyConfig_Clear(&config);
      return 2;
    }
    qputenv("VIRTUAL_ENV", venv.toLocal8Bit());
    const QByteArray path = qgetenv("PATH");
    const QByteArray venvBin = QFile::encodeName(venv + "/bin");
    if (!path.startsWith(venvBin + ":"))
    {
      qputenv("PATH", path.isEmpty() ? venvBin : venvBin + ":" + path);
    }
    if (failed(PyConfig_SetBytesString(&config, &config.executable, venvPython.toLocal8Bit().constData()), &config,
          &exitCode))
    {
      return exitCode;
    }
  }
  else if (failed(PyConfig_SetBytesString(&config, &config.home, PYTHON_BASE_PREFIX), &config, &exitCode))
  {
    return exitCode;
  }
  if (failed(Py_InitializeFromConfig(&config), &config, &exitCode))
  {
    return exitCode;
  }
  PyConfig_Clear(&config);

  PythonQt::init(PythonQt::PythonAlreadyInitialized);
  PythonQt_QtAll::init();
  if (!prependToSysPath(prefix + "/python") || !setSysExecutable(hostExecutable))
  {
    PyErr_Print();
    return 1;
  }

  // Runs the script, module or command; SystemExit and uncaught exceptions give the
  // exit status as python's own command line does; Python is finalized (atexit runs)
  // while the QApplication still exists.
  return Py_RunMain();
}
