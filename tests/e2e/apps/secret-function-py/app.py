import os
import json

# Retrieve the output directory path
iexec_out = os.environ.get("IEXEC_OUT")
print(iexec_out)

# Get the app secret containing coefficients
app_secret = os.environ.get("IEXEC_APP_DEVELOPER_SECRET")
a, b, c, d = 1, 1, 1, 1  # Default values
if not app_secret:
    print("Warning: Missing IEXEC_APP_DEVELOPER_SECRET. Using default coefficients.")
else:
    coefficients = app_secret.split(";")
    if len(coefficients) != 4:
        print("Warning: Problem with the length of IEXEC_APP_DEVELOPER_SECRET")
    else:
        a, b, c, d = map(float, coefficients)

# Get the input value from the requester secret
req_secret = os.environ.get("IEXEC_REQUESTER_SECRET_1")
x = 1  # Default value
if not req_secret:
    print("Warning: Missing IEXEC_REQUESTER_SECRET_1. Using default input value.")
else:
    try:
        x = float(req_secret)
    except ValueError as e:
        print("Invalid value for IEXEC_REQUESTER_SECRET_1:", e)
        exit(1)

# Function to compute f(x)
def cubic_polynomial(x):
    return a * x**3 + b * x**2 + c * x + d

# Compute f(x)
result = cubic_polynomial(x)
print("compute")

# Create result object
result_obj = {
    "x": x,
    "result": result
}

# Convert result object to JSON string
result_json = json.dumps(result_obj)

# Write result to file
with open(f"{iexec_out}/result.txt", "w+") as f:
    f.write(result_json)

# Declare computation complete
computed_json_obj = {
    "deterministic-output-path": f"{iexec_out}/result.txt",
}
with open(f"{iexec_out}/computed.json", "w+") as f:
    json.dump(computed_json_obj, f)
